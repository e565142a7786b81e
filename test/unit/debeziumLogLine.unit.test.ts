import { describe, expect, it } from 'vitest';
import { debeziumLogLine } from '../../src/dev-stack/index.js';

const json = (level: string, loggerName: string, message: string, extra: object = {}) =>
  JSON.stringify({ timestamp: '2026-11-26T02:24:49Z', loggerName, level, message, ...extra });

describe('debeziumLogLine', () => {
  it('keeps milestones, warnings and errors, shortened to level, logger and message', () => {
    expect(
      debeziumLogLine(
        json('INFO', 'io.debezium.connector.postgresql.PostgresStreamingChangeEventSource', 'Processing messages'),
      ),
    ).toBe('INFO PostgresStreamingChangeEventSource: Processing messages');
    expect(
      debeziumLogLine(
        json('ERROR', 'io.quarkus.runtime.Application', 'Failed to start application', {
          exception: { message: 'Port already bound: 3003' },
        }),
      ),
    ).toBe('ERROR Application: Failed to start application (Port already bound: 3003)');
    expect(
      debeziumLogLine(
        json(
          'WARN',
          'io.debezium.connector.postgresql.connection.PostgresReplicationConnection',
          'Failed to start replication stream',
        ),
      ),
    ).toMatch(/^WARN /);
  });

  it('drops routine INFO lines, blank lines and the banner', () => {
    expect(
      debeziumLogLine(json('INFO', 'io.debezium.util.Threads', 'Creating thread debezium-jdbcconnection')),
    ).toBeUndefined();
    expect(debeziumLogLine('')).toBeUndefined();
    expect(debeziumLogLine('   offset.flush.interval.ms = 1000')).toBeUndefined();
    expect(debeziumLogLine(' / /_/ //  __// /_/ //  __/ / /_ / // /_/ // / / / / /')).toBeUndefined();
  });

  it('passes plain-text messages through (a JVM error on stderr)', () => {
    expect(debeziumLogLine('Exception in thread "main" java.lang.UnsupportedClassVersionError')).toBe(
      'Exception in thread "main" java.lang.UnsupportedClassVersionError',
    );
  });
});
