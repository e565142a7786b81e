/**
 * One supervised SumStream process, as the chaos harness and the cluster run them: started in a
 * session of its own (and optionally in a network namespace), every output line written to its log,
 * its pid to a file, restarted with backoff when it exits on its own (each such exit recorded with
 * its last output), and left down after `kill9()` or `stop()` until `start()`.
 */
import type { ChildProcess } from 'node:child_process';
import type { WriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { sleep } from './exec.js';
import { type ServiceName, spawnService, stopChild } from './serviceProcess.js';

export interface ManagedServiceOptions {
  service: ServiceName;
  /** How it is named in messages (`add-service-2`). Default: `service`. */
  label?: string;
  env: Record<string, string>;
  /** URL answering 200 once the process is ready (its `/readyz`). */
  probeUrl: string;
  logStream: WriteStream;
  pidFile: string;
  /** Supervisor messages (restarts). */
  log: (line: string) => void;
  /** Network namespace to run it in. Default: the caller's. */
  netns?: string;
}

export class ManagedService {
  child: ChildProcess | undefined;
  /** Exits the harness did not cause, each described with the process's last output. */
  readonly unexpectedExits: string[] = [];
  /** The last output lines before each of those exits (the crash's stack trace). */
  readonly exitOutputs: string[] = [];
  private wanted = false;
  private expectedExit: ChildProcess | undefined;
  private readonly tail: string[] = [];
  private consecutiveFailures = 0;

  readonly name: string;
  private readonly probeUrl: string;

  constructor(private readonly options: ManagedServiceOptions) {
    this.name = options.label ?? options.service;
    this.probeUrl = options.probeUrl;
  }

  /** Starts the process (unless it runs) and resolves once it answers its readiness probe. */
  async start(timeoutMs = 90_000): Promise<number> {
    const t0 = Date.now();
    this.wanted = true;
    if (!this.running()) this.spawn();
    await this.waitReady(timeoutMs);
    return Date.now() - t0;
  }

  /** `kill -9`, waiting for the exit; the supervisor leaves it down until `start()`. */
  async kill9(): Promise<void> {
    this.wanted = false;
    const child = this.child;
    if (!child || !this.running()) return;
    this.expectedExit = child;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGTERM (graceful: the process finishes what it holds), SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<number | string | null> {
    this.wanted = false;
    const child = this.child;
    if (!child || !this.running()) return null;
    this.expectedExit = child;
    return stopChild(child, graceMs);
  }

  running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async ready(): Promise<boolean> {
    try {
      const res = await fetch(this.probeUrl, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      return res.ok;
    } catch {
      return false;
    }
  }

  /** Waits until the probe answers 200 (the supervisor restarts a process that exits meanwhile). */
  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(this.running() && (await this.ready()))) {
      if (!this.wanted) throw new Error(`${this.name} was stopped while waiting for it to become ready`);
      if (Date.now() > deadline) {
        throw new Error(
          `${this.name} did not become ready within ${timeoutMs} ms (probe ${this.probeUrl}); last output:\n${this.tail.slice(-15).join('\n')}`,
        );
      }
      await sleep(100);
    }
    this.consecutiveFailures = 0;
  }

  lastOutput(lines = 15): string[] {
    return this.tail.slice(-lines);
  }

  private spawn(): void {
    // As the dev stack starts it, but in a session of its own (detached), so a Ctrl-C
    // meant for the harness does not also stop the processes behind the supervisor's back.
    const child = spawnService({
      service: this.options.service,
      env: this.options.env,
      onLine: (line) => this.onLine(line),
      detached: true,
      ...(this.options.netns === undefined ? {} : { netns: this.options.netns }),
    });
    this.child = child;
    void writeFile(this.options.pidFile, String(child.pid ?? '')).catch(() => undefined);
    child.once('exit', (code, signal) => {
      if (child === this.expectedExit) return;
      if (this.child !== child || !this.wanted) return;
      // Exited on its own: record it and start it again, like the dev stack's supervisor.
      const why = `${this.name} exited on its own (${signal ?? `code ${code}`}): ${describeExit(this.tail)}`;
      this.unexpectedExits.push(why);
      this.exitOutputs.push(this.tail.slice(-40).join('\n'));
      this.options.log(`supervisor: ${why}; restarting`);
      this.consecutiveFailures++;
      const delay = Math.min(5000, 250 * 2 ** Math.min(this.consecutiveFailures, 5));
      setTimeout(() => {
        if (this.wanted && !this.running()) this.spawn();
      }, delay);
    });
  }

  private onLine(line: string): void {
    this.options.logStream.write(`${line}\n`);
    this.tail.push(line);
    if (this.tail.length > 200) this.tail.splice(0, this.tail.length - 200);
  }
}

/** The most telling line of a process's last output: the thrown error or the start failure. */
function describeExit(tail: readonly string[]): string {
  const recent = tail.slice(-40);
  for (let i = recent.length - 1; i >= 0; i--) {
    const line = recent[i]!;
    if (/^Cannot start:/.test(line)) return line;
  }
  for (let i = 0; i < recent.length; i++) {
    const line = recent[i]!.trim();
    // Node's report of an uncaught exception: "<file>:<line>", the source line, a caret, then "Error: …".
    if (/^[A-Za-z]*(Error|Exception)\b.*:/.test(line) && !line.startsWith('{')) return `uncaught ${line}`;
  }
  return recent.slice(-3).join(' | ');
}
