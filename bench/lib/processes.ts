/**
 * The bench's child processes (mock provider, floor proxy, gateway): started
 * with the project's node, pinned to a CPU with taskset where it exists,
 * logs to files (a pipe the bench must drain would steal CPU from the load
 * generator), and always stopped: on success, on error, on Ctrl-C, and by the
 * child itself if the bench dies (see child-guard.ts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

const guard = fileURLToPath(new URL('./child-guard.ts', import.meta.url));

export interface Pinning {
  enabled: boolean;
  /** Why pinning is off, when it is. */
  reason?: string;
  /** CPU of the load generator (this process) and the mock. */
  loadCpu?: number;
  /** CPU of the process under test (floor or gateway). */
  proxyCpu?: number;
}

/** Pins this process to CPU 0 and plans CPU 1 for the proxies, if taskset and two CPUs exist. */
export function planPinning(wanted: boolean): Pinning {
  if (!wanted) return { enabled: false, reason: 'disabled with --no-pin' };
  if (cpus().length < 2) return { enabled: false, reason: `only ${cpus().length} CPU` };
  const probe = spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
  if (probe.error !== undefined || probe.status !== 0) return { enabled: false, reason: 'taskset not available' };
  const self = spawnSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
  if (self.status !== 0) return { enabled: false, reason: 'taskset could not pin the bench process' };
  return { enabled: true, loadCpu: 0, proxyCpu: 1 };
}

export function describePinning(p: Pinning): string {
  if (!p.enabled) return `no CPU pinning (${p.reason ?? 'off'}): results are noisier`;
  return `CPU pinning with taskset: load generator + mock provider on CPU ${p.loadCpu}, floor proxy / Switchyard on CPU ${p.proxyCpu}`;
}

/** An ephemeral port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface ChildSpec {
  name: string;
  /** Arguments after node (script first). */
  args: string[];
  /** Extra node flags (e.g. --cpu-prof). */
  nodeFlags?: string[];
  cpu: number | undefined;
  logFile: string;
  cwd: string;
}

export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** How it ended, for error messages ('running' while alive). */
  howEnded(): string;
}

/** Last lines of a child's log, for error messages. */
export function logTail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export class ChildSet {
  #children = new Map<string, { proc: ChildProcess; child: Child }>();

  start(spec: ChildSpec): Child {
    const fd = openSync(spec.logFile, 'a');
    const nodeArgs = ['--import', guard, ...(spec.nodeFlags ?? []), ...spec.args];
    const [command, args] =
      spec.cpu === undefined ? [process.execPath, nodeArgs] : ['taskset', ['-c', String(spec.cpu), process.execPath, ...nodeArgs]];
    const proc = spawn(command, args, { cwd: spec.cwd, stdio: ['ignore', fd, fd, 'ipc'], env: { ...process.env, NO_COLOR: '1' } });
    closeSync(fd);
    let done = false;
    let ended = 'running';
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      proc.once('exit', (code, signal) => {
        done = true;
        ended = signal === null ? `exit code ${String(code)}` : `signal ${signal}`;
        resolve({ code, signal });
      });
      proc.once('error', (err) => {
        // 'error' also reports a failed kill or send; only a failed spawn leaves no pid.
        if (proc.pid !== undefined && proc.exitCode === null && proc.signalCode === null) return;
        done = true;
        ended = `spawn error: ${err.message}`;
        resolve({ code: null, signal: null });
      });
    });
    // An IPC channel that we never use must not keep the bench alive.
    proc.unref();
    proc.channel?.unref();
    if (proc.pid === undefined) throw new Error(`could not start ${spec.name}`);
    // taskset execs the command, so this pid is node's own (needed for /proc/<pid>/stat).
    const child: Child = { name: spec.name, pid: proc.pid, logFile: spec.logFile, exited, alive: () => !done, howEnded: () => ended };
    this.#children.set(spec.name, { proc, child });
    return child;
  }

  /** Graceful stop: SIGTERM, then SIGKILL after `graceMs`. */
  async stop(name: string, graceMs = 5_000): Promise<void> {
    const entry = this.#children.get(name);
    if (entry === undefined) return;
    this.#children.delete(name);
    const { proc, child } = entry;
    if (!child.alive()) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    await child.exited;
    clearTimeout(timer);
  }

  async stopAll(graceMs = 5_000): Promise<void> {
    await Promise.all([...this.#children.keys()].map((name) => this.stop(name, graceMs)));
  }

  /** Synchronous last resort for `process.on('exit')`: SIGKILL everything still running. */
  killNow(): void {
    for (const { proc, child } of this.#children.values()) {
      if (child.alive()) proc.kill('SIGKILL');
    }
    this.#children.clear();
  }
}

/**
 * Polls `url` until it answers with an accepted status, the child dies, or
 * `timeoutMs` passes. Bounded: at most timeoutMs / 50 attempts.
 */
export async function waitReady(url: string, child: Child, accept: (status: number) => boolean, timeoutMs = 20_000): Promise<void> {
  const attempts = Math.ceil(timeoutMs / 50);
  for (let i = 0; i < attempts; i++) {
    if (!child.alive()) throw new Error(`${child.name} exited during start-up (${child.howEnded()}):\n${logTail(child.logFile)}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (accept(res.status)) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${child.name} was not ready at ${url} after ${timeoutMs} ms:\n${logTail(child.logFile)}`);
}
