import { randomBytes } from 'node:crypto';

export interface TestVhost {
  /** amqp:// URL of the new vhost: host and credentials of managementUrl, the broker's AMQP port. */
  amqpUrl: string;
  vhost: string;
  /** Deletes the vhost (and with it every queue/exchange in it); no error if already gone. */
  drop(): Promise<void>;
}

/**
 * Creates a uniquely named vhost (`test-<prefix>-<random>`) through the RabbitMQ management HTTP API and
 * grants `user` full permissions (configure/write/read '.*') on it. The AMQP port is read from the API
 * (/api/overview listeners), so only the management URL is needed.
 * @param managementUrl e.g. http://sumstream:sumstream@127.0.0.1:15672 (an administrator's credentials)
 * @param user          user to grant permissions to, e.g. 'sumstream'
 */
export async function createTestVhost(managementUrl: string, user: string, prefix = 'vh'): Promise<TestVhost> {
  const vhost = `test-${prefix}-${randomBytes(4).toString('hex')}`;
  const api = apiClient(managementUrl);
  const overview = (await (await api('GET', '/api/overview')).json()) as {
    listeners?: { protocol: string; port: number }[];
  };
  const amqpPort = overview.listeners?.find((l) => l.protocol === 'amqp')?.port;
  if (amqpPort === undefined) throw new Error(`broker at ${api.origin} reports no AMQP listener`);
  await api('PUT', `/api/vhosts/${encodeURIComponent(vhost)}`, {});
  await api('PUT', `/api/permissions/${encodeURIComponent(vhost)}/${encodeURIComponent(user)}`, {
    configure: '.*',
    write: '.*',
    read: '.*',
  });
  const m = new URL(managementUrl); // username/password stay percent-encoded, as a URL needs them
  return {
    amqpUrl: `amqp://${m.username}:${m.password}@${m.hostname}:${amqpPort}/${encodeURIComponent(vhost)}`,
    vhost,
    drop: async () => {
      await api('DELETE', `/api/vhosts/${encodeURIComponent(vhost)}`, undefined, [404]);
    },
  };
}

/** fetch() against the management API with the credentials embedded in managementUrl; throws on HTTP errors. */
function apiClient(managementUrl: string) {
  const base = new URL(managementUrl);
  const auth = `Basic ${Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString('base64')}`;
  const call = async (method: string, path: string, body?: unknown, okStatuses: number[] = []): Promise<Response> => {
    const res = await fetch(new URL(path, base.origin), {
      method,
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok && !okStatuses.includes(res.status)) {
      throw new Error(`RabbitMQ management API ${method} ${path} -> ${res.status}: ${await res.text()}`);
    }
    return res;
  };
  return Object.assign(call, { origin: base.origin });
}
