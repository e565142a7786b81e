import { describe, expect, it } from 'vitest';
import { commonConfig } from '../../src/shared/config/commonConfig.js';
import { productionProblems } from '../../src/shared/config/productionProblems.js';
import { bearerTokenCheck } from '../../src/add-service/bearerTokenCheck.js';
import { TokenBucket } from '../../src/shared/tokenBucket.js';

const strong = {
  DATABASE_URL: 'postgres://app:Zq7-long-secret@db/sumstream',
  AMQP_URL: 'amqp://app:Xw9-long-secret@mq',
};

describe('production mode', () => {
  it('refuses guest/guest (also implied by a URL without credentials), empty and default passwords, and Grafana admin/admin', () => {
    expect(
      productionProblems(
        { databaseUrl: 'postgres://app@db/x', amqpUrl: 'amqp://guest:guest@mq' },
        { GF_SECURITY_ADMIN_PASSWORD: 'admin' },
      ),
    ).toEqual([
      'DATABASE_URL has no password; give the role a strong password and put it in DATABASE_URL.',
      'AMQP_URL uses the guest user; create a RabbitMQ user with a strong password and put it in AMQP_URL.',
      'GF_SECURITY_ADMIN_PASSWORD is a default password; set a strong one.',
    ]);
    expect(
      productionProblems({ databaseUrl: 'postgres://sumstream:sumstream@db/x', amqpUrl: 'amqp://mq' }, {}),
    ).toHaveLength(2);
    expect(
      productionProblems(
        { databaseUrl: strong.DATABASE_URL, amqpUrl: strong.AMQP_URL },
        { GRAFANA_ADMIN_PASSWORD: 'Kp2-long' },
      ),
    ).toEqual([]);
  });

  it('is switched on by SUMSTREAM_PRODUCTION or NODE_ENV=production, and then stops the process with every problem listed', () => {
    expect(() => commonConfig({ NODE_ENV: 'production' })).toThrow(
      /Production mode refuses to start:\n- DATABASE_URL has a default password.*\n- AMQP_URL uses a default or empty password/,
    );
    expect(() => commonConfig({ SUMSTREAM_PRODUCTION: 'true', ...strong })).not.toThrow();
    expect(commonConfig({}).production).toBe(false);
  });
});

describe('bearerTokenCheck', () => {
  it('accepts only a configured token after "Bearer "', () => {
    const check = bearerTokenCheck(['a'.repeat(32), 'b'.repeat(32)]);
    expect(check(`Bearer ${'b'.repeat(32)}`)).toBe(true);
    expect(check(`bearer ${'a'.repeat(32)}`)).toBe(true);
    expect(check(`Bearer ${'a'.repeat(31)}`)).toBe(false);
    expect(check('a'.repeat(32))).toBe(false);
    expect(check(undefined)).toBe(false);
    expect(bearerTokenCheck([])(undefined)).toBe(true);
  });
});

describe('TokenBucket', () => {
  it('allows a burst, then the rate', () => {
    let now = 0;
    const bucket = new TokenBucket(10, 3, () => now);
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([true, true, true, false]);
    now += 100; // one token per 100 ms at 10/s
    expect([bucket.tryTake(), bucket.tryTake()]).toEqual([true, false]);
  });
});
