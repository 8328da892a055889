/**
 * Open-file limits (RLIMIT_NOFILE) for benches that hold thousands of sockets.
 * Node raises its own soft limit to the hard limit when it starts, so every
 * child the bench starts gets the hard limit it inherits from the bench: the
 * hard limit is what matters. Where it is too low and we may raise it (root),
 * `prlimit` raises this process's limits before any child is started.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface FileLimit {
  soft: number;
  hard: number;
}

/** RLIMIT_NOFILE of a process ('self' by default), from /proc/<pid>/limits; Infinity for "unlimited". */
export function openFileLimit(pid: number | 'self' = 'self'): FileLimit | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/limits`, 'utf8');
  } catch {
    return undefined;
  }
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  if (m === null) return undefined;
  const value = (s: string): number => (s === 'unlimited' ? Infinity : Number(s));
  return { soft: value(m[1] as string), hard: value(m[2] as string) };
}

export interface FileLimitCheck {
  before: FileLimit | undefined;
  after: FileLimit | undefined;
  needed: number;
  /** What was done, or why the limit is too low; for the report. */
  note: string;
  ok: boolean;
}

/**
 * Makes sure this process (and so every child started after this) may open
 * `needed` files: raises the soft limit to the hard one, and the hard one too
 * where that is allowed. Never lowers anything.
 */
export function ensureOpenFiles(needed: number): FileLimitCheck {
  const before = openFileLimit();
  if (before === undefined) return { before, after: undefined, needed, ok: true, note: 'limits unknown (no /proc): not checked' };
  if (before.soft >= needed) return { before, after: before, needed, ok: true, note: `open files: soft ${before.soft}, hard ${before.hard}, enough for ${needed}` };
  // Up to the hard limit anyone may; above it only root (CAP_SYS_RESOURCE).
  const limit = before.hard >= needed ? before.hard : needed;
  const raise = spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${limit}:${limit}`], { encoding: 'utf8' });
  const after = openFileLimit();
  const ok = after !== undefined && after.soft >= needed;
  const how = raise.error !== undefined ? `prlimit not available (${raise.error.message})` : raise.status === 0 ? `raised with prlimit` : `prlimit refused: ${raise.stderr.trim()}`;
  const note = ok
    ? `open files: soft ${before.soft} / hard ${before.hard}, ${how} to ${after.soft} / ${after.hard} (needed ${needed})`
    : `open files: soft ${before.soft} / hard ${before.hard}, need ${needed}; ${how}. Raise the hard limit (e.g. \`ulimit -Hn ${needed}\` as root, or in /etc/security/limits.conf) or run fewer streams`;
  return { before, after, needed, ok, note };
}
