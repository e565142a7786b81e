import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { inNamespace } from './netns.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The three SumStream processes, by the folder of their composition root. */
export const SERVICES = ['add-service', 'cdc-relay', 'sum-service'] as const;
export type ServiceName = (typeof SERVICES)[number];

/**
 * Node options of every service. A young generation of at least 16 MB: after a few idle seconds
 * V8's memory reducer shrinks it to 1 MB, and it does not grow back under load, so a service that
 * idled before its first burst scavenged several times as often and served GET /sum about a
 * quarter slower, for good (bench/README.md).
 */
export const NODE_OPTIONS = ['--min-semi-space-size=16'] as const;

/** The command that starts a service; the Dockerfile, Compose, Kubernetes and the tests use the same one. */
export function serviceCommand(service: ServiceName): string[] {
  return [process.execPath, ...NODE_OPTIONS, '--import', 'tsx', `src/${service}/main.ts`];
}

export interface ServiceProcessOptions {
  service: ServiceName;
  env: Record<string, string | undefined>;
  /** Receives each output line (stdout and stderr). Default: discard. */
  onLine?: (line: string) => void;
  /** In a session of its own, so a Ctrl-C meant for the parent does not reach it. Default false. */
  detached?: boolean;
  /** Network namespace to run it in (the cluster's hosts). Default: the caller's. */
  netns?: string;
}

/** Spawns one service from the repository root with the given environment. */
export function spawnService(options: ServiceProcessOptions): ChildProcess {
  const [node, ...nodeArgs] = serviceCommand(options.service);
  const [command, args] = inNamespace(options.netns, node!, nodeArgs);
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: { ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on('line', (line) => options.onLine?.(line));
  }
  return child;
}

/** Sends SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code or signal. */
export function stopChild(child: ChildProcess, graceMs = 10_000): Promise<number | string | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode ?? child.signalCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? signal);
    });
    child.kill('SIGTERM');
  });
}
