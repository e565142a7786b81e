/**
 * Network namespaces as hosts: the cluster's members each run in one, joined to a private bridge.
 * Everything here shells out to iproute2 (`ip`) and nftables (`nft`), so it needs root.
 */
import { run, runOk } from './exec.js';

/** `[command, ...args]` run inside namespace `ns` (unchanged when `ns` is undefined). */
export function inNamespace(ns: string | undefined, command: string, args: readonly string[]): [string, string[]] {
  return ns === undefined ? [command, [...args]] : ['ip', ['netns', 'exec', ns, command, ...args]];
}

export interface BridgeHost {
  /** Namespace name, also the host's name. */
  ns: string;
  /** IPv4 address on the bridge. */
  address: string;
}

export interface BridgeNetwork {
  /** Bridge device in the root namespace, e.g. `ssbr0`. */
  bridge: string;
  /** Address of the root namespace on the bridge (the load balancer's and Prometheus's side). */
  gateway: string;
  /** Prefix length of the subnet, e.g. 24. */
  prefix: number;
  hosts: readonly BridgeHost[];
}

/** Can this process create namespaces? A sentence saying why not, or undefined. */
export async function namespaceProblem(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root (run as root, or with sudo)';
  for (const tool of ['ip', 'nft']) {
    const found = await run('sh', ['-c', `command -v ${tool}`]).catch(() => undefined);
    if (found?.code !== 0)
      return `\`${tool}\` not found: run \`bash scripts/ensure-system-deps.sh --cluster\` (installs iproute2, nftables, haproxy)`;
  }
  return undefined;
}

/**
 * Creates the bridge (with the gateway address, no forwarding, no NAT) and one namespace per host,
 * each with a veth into the bridge and loopback up. The namespaces get no default route: nothing
 * they send can leave the machine.
 */
export async function createBridgeNetwork(net: BridgeNetwork): Promise<void> {
  await runOk('ip', ['link', 'add', net.bridge, 'type', 'bridge']);
  await runOk('ip', ['addr', 'add', `${net.gateway}/${net.prefix}`, 'dev', net.bridge]);
  await runOk('ip', ['link', 'set', net.bridge, 'up']);
  for (const [i, host] of net.hosts.entries()) {
    const peer = `${net.bridge}p${i}`;
    await runOk('ip', ['netns', 'add', host.ns]);
    await runOk('ip', ['link', 'add', peer, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.ns]);
    await runOk('ip', ['link', 'set', peer, 'master', net.bridge, 'up']);
    await runOk('ip', ['-n', host.ns, 'addr', 'add', `${host.address}/${net.prefix}`, 'dev', 'eth0']);
    await runOk('ip', ['-n', host.ns, 'link', 'set', 'eth0', 'up']);
    await runOk('ip', ['-n', host.ns, 'link', 'set', 'lo', 'up']);
  }
}

/** Pids of every process running in namespace `ns` (empty when it does not exist). */
export async function namespacePids(ns: string): Promise<number[]> {
  const r = await run('ip', ['netns', 'pids', ns]);
  return r.code === 0 ? r.stdout.split(/\s+/).filter(Boolean).map(Number) : [];
}

/**
 * Kills every process in the namespaces (SIGKILL: their data is thrown away with them), deletes the
 * namespaces (and with them their veths and nft rules) and the bridge. Idempotent; returns what it removed.
 */
export async function destroyBridgeNetwork(bridge: string, namespaces: readonly string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const ns of namespaces) {
    const pids = await namespacePids(ns);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    if (pids.length > 0) removed.push(`${pids.length} processes in ${ns}`);
  }
  for (const ns of namespaces) {
    // A namespace cannot go while a process is still in it: wait for the kills to land.
    for (let i = 0; i < 50 && (await namespacePids(ns)).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    if ((await run('ip', ['netns', 'delete', ns])).code === 0) removed.push(`namespace ${ns}`);
  }
  if ((await run('ip', ['link', 'delete', bridge])).code === 0) removed.push(`bridge ${bridge}`);
  return removed;
}

/** Namespaces whose name starts with `prefix`. */
export async function listNamespaces(prefix: string): Promise<string[]> {
  const r = await run('ip', ['netns', 'list']);
  return r.stdout
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((ns) => ns.startsWith(prefix));
}

const PARTITION_TABLE = 'sumstream_partition';

/**
 * Drops every packet between namespace `ns` and the given addresses, both ways (nftables, inside the
 * namespace only). Established connections hang as on a real cut: no reset, no error, until a
 * timeout or heartbeat notices. `healPartition` removes it.
 */
export async function cutFrom(ns: string, addresses: readonly string[]): Promise<void> {
  if (addresses.length === 0) return;
  const set = addresses.join(', ');
  const script = [
    `table inet ${PARTITION_TABLE} {`,
    `  chain input { type filter hook input priority 0; policy accept; ip saddr { ${set} } drop; }`,
    `  chain output { type filter hook output priority 0; policy accept; ip daddr { ${set} } drop; }`,
    '}',
  ].join('\n');
  await run('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', 'inet', PARTITION_TABLE]);
  await runOk('sh', ['-c', `ip netns exec ${ns} nft -f - <<'EOF'\n${script}\nEOF`]);
}

/** Removes the partition rules of namespace `ns` (no-op when there are none). */
export async function healPartition(ns: string): Promise<void> {
  await run('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', 'inet', PARTITION_TABLE]);
}
