import type { Env } from './envReader.js';

/** Credentials that ship as defaults somewhere (ours, RabbitMQ's, Grafana's) and so are public. */
const DEFAULT_PASSWORDS = new Set(['', 'guest', 'sumstream', 'admin', 'password', 'postgres']);

/**
 * What production mode refuses, each with its fix: default or empty credentials in
 * DATABASE_URL and AMQP_URL (amqplib falls back to guest/guest when none are given), and a
 * default Grafana admin password when one is passed in. Returns [] when all is well.
 */
export function productionProblems(urls: { databaseUrl: string; amqpUrl: string }, env: Env): string[] {
  const problems: string[] = [];
  const database = new URL(urls.databaseUrl);
  if (DEFAULT_PASSWORDS.has(decodeURIComponent(database.password))) {
    problems.push(
      `DATABASE_URL has ${database.password ? 'a default' : 'no'} password; give the role a strong password and put it in DATABASE_URL.`,
    );
  }
  for (const url of urls.amqpUrl.split(',')) {
    const amqp = new URL(url.trim());
    const amqpUser = decodeURIComponent(amqp.username) || 'guest';
    const amqpPassword = decodeURIComponent(amqp.password) || (amqp.username ? '' : 'guest');
    if (amqpUser === 'guest' || DEFAULT_PASSWORDS.has(amqpPassword)) {
      problems.push(
        `AMQP_URL uses ${amqpUser === 'guest' ? 'the guest user' : 'a default or empty password'}; create a RabbitMQ user with a strong password and put it in AMQP_URL.`,
      );
      break;
    }
  }
  for (const name of ['GF_SECURITY_ADMIN_PASSWORD', 'GRAFANA_ADMIN_PASSWORD']) {
    const value = env[name];
    if (value !== undefined && DEFAULT_PASSWORDS.has(value))
      problems.push(`${name} is a default password; set a strong one.`);
  }
  return problems;
}
