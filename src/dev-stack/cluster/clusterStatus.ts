import { isPortOpen } from '../exec.js';
import {
  type ClusterHost,
  type ClusterPlan,
  HOST_PORTS,
  hostsOf,
  LB_PORTS,
  metricsUrl,
  probeUrl,
} from './clusterPlan.js';

export interface MemberStatus {
  host: ClusterHost;
  /** `/readyz` answered 200 (a broker node: the management API answered). */
  ready: boolean;
  /** For a relay: whether it holds the leader lock (`sumstream_relay_active`). */
  active?: boolean;
  /** For a broker node: partitions it reports (other nodes it cannot see). */
  partitions?: string[];
  /** For a Patroni node: its role, state and timeline as its REST API reports them. */
  patroni?: PatroniMember;
}

export interface PatroniMember {
  /** `primary` (Patroni 3.0 says `master`) or `replica`. */
  role: string;
  /** `running`, `starting`, `stopped`, ... */
  state: string;
  timeline: number | undefined;
  /** Whether it is the synchronous standby Patroni chose (replicas). */
  sync: boolean;
}

export interface QueueStatus {
  name: string;
  /** Node whose Raft member leads the quorum queue. */
  leader: string | undefined;
  members: string[];
  online: string[];
  messages: number | undefined;
}

export interface ClusterStatus {
  members: MemberStatus[];
  queues: QueueStatus[];
  /** HAProxy's view of each backend server (`UP`/`DOWN`), from its stats CSV. */
  balancer: Record<string, string>;
}

const AUTH = `Basic ${Buffer.from('sumstream:sumstream').toString('base64')}`;

async function get(url: string, auth = false): Promise<Response | undefined> {
  return fetch(url, { headers: auth ? { authorization: AUTH } : {}, signal: AbortSignal.timeout(2000) }).catch(
    () => undefined,
  );
}

/** What a Patroni node's REST API says about itself, or undefined when it does not answer. */
export async function patroniMember(host: ClusterHost): Promise<PatroniMember | undefined> {
  const res = await get(`http://${host.address}:${HOST_PORTS.patroni}/patroni`);
  if (!res) return undefined;
  const body = (await res.json().catch(() => ({}))) as {
    role?: string;
    state?: string;
    timeline?: number;
    sync_standby?: boolean;
    replication_state?: string;
  };
  return {
    role: body.role === 'master' ? 'primary' : (body.role ?? '?'),
    state: body.state ?? '?',
    timeline: body.timeline,
    sync: body.sync_standby === true,
  };
}

/** Which relay holds the leader lock: the first whose `sumstream_relay_active` is 1. */
export async function activeRelay(plan: ClusterPlan): Promise<ClusterHost | undefined> {
  for (const host of hostsOf(plan, 'cdc-relay')) {
    const res = await get(metricsUrl(host));
    if (res?.ok && /^sumstream_relay_active(\{[^}]*\})? 1$/m.test(await res.text())) return host;
  }
  return undefined;
}

/** The quorum queue as the first answering broker node sees it. */
export async function queueStatus(plan: ClusterPlan, name: string): Promise<QueueStatus> {
  for (const host of hostsOf(plan, 'rabbitmq')) {
    const res = await get(
      `http://${host.address}:${HOST_PORTS.management}/api/queues/%2F/${encodeURIComponent(name)}`,
      true,
    );
    if (!res?.ok) continue;
    const q = (await res.json()) as { leader?: string; members?: string[]; online?: string[]; messages?: number };
    return { name, leader: q.leader, members: q.members ?? [], online: q.online ?? [], messages: q.messages };
  }
  return { name, leader: undefined, members: [], online: [], messages: undefined };
}

export async function clusterStatus(plan: ClusterPlan, queues: readonly string[]): Promise<ClusterStatus> {
  const members = await Promise.all(
    plan.hosts.map(async (host): Promise<MemberStatus> => {
      if (host.role === 'postgres' && plan.pgHa) {
        const patroni = await patroniMember(host);
        return { host, ready: patroni?.state === 'running', ...(patroni ? { patroni } : {}) };
      }
      if (host.role === 'postgres') {
        return { host, ready: await isPortOpen(HOST_PORTS.postgres, host.address) };
      }
      if (host.role === 'etcd') {
        const res = await get(`http://${host.address}:${HOST_PORTS.etcdClient}/health`);
        const health = res?.ok ? ((await res.json()) as { health?: string }) : undefined;
        return { host, ready: health?.health === 'true' };
      }
      if (host.role === 'rabbitmq') {
        const res = await get(`http://${host.address}:${HOST_PORTS.management}/api/nodes/rabbit@${host.address}`, true);
        const node = res?.ok ? ((await res.json()) as { running?: boolean; partitions?: string[] }) : undefined;
        return { host, ready: node?.running === true, partitions: node?.partitions ?? [] };
      }
      const ready = (await get(probeUrl(host)))?.ok === true;
      if (host.role !== 'cdc-relay') return { host, ready };
      const res = await get(metricsUrl(host));
      const active = res?.ok ? /^sumstream_relay_active(\{[^}]*\})? 1$/m.test(await res.text()) : false;
      return { host, ready, active };
    }),
  );
  const balancer: Record<string, string> = {};
  const csv = await get(`http://${plan.lbHost}:${LB_PORTS.stats}/;csv`);
  if (csv?.ok)
    for (const line of (await csv.text()).split('\n')) {
      const [backend, server, , , , , , , , , , , , , , , , status] = line.split(',');
      if (backend && server && !['FRONTEND', 'BACKEND', 'svname'].includes(server) && !backend.startsWith('#'))
        balancer[server] = status ?? '?';
    }
  return { members, queues: await Promise.all(queues.map((q) => queueStatus(plan, q))), balancer };
}

/** The table `cluster status` prints. */
export function formatClusterStatus(status: ClusterStatus): string {
  const lines = ['host          role          address        state'];
  for (const m of status.members) {
    let state = m.ready ? 'ready' : 'DOWN';
    if (m.active !== undefined) state += m.active ? ', active (leads the slot)' : ', standby';
    if (m.partitions && m.partitions.length > 0) state += `, partitioned from ${m.partitions.join(' ')}`;
    if (m.patroni)
      state += `, ${m.patroni.role}${m.patroni.sync ? ' (synchronous standby)' : ''} ${m.patroni.state}, timeline ${m.patroni.timeline ?? '?'}`;
    const lb = status.balancer[`${m.host.role}-${m.host.name.split('-')[1]}`];
    if (lb) state += `, load balancer: ${lb}`;
    lines.push(`${m.host.name.padEnd(13)} ${m.host.role.padEnd(13)} ${m.host.address.padEnd(14)} ${state}`);
  }
  for (const q of status.queues)
    lines.push(
      `queue ${q.name}: leader ${q.leader ?? '?'}, members ${q.members.join(' ') || '?'}, online ${q.online.join(' ') || '?'}, ${q.messages ?? '?'} messages`,
    );
  return lines.join('\n');
}
