/**
 * CPU time of a process from /proc/<pid>/stat (Linux): utime + stime of all
 * its threads, in microseconds. Read before and after a run, divided by the
 * requests served, it gives the CPU a request costs that process.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU microseconds used so far by `pid`, or undefined where /proc is not available. */
export function cpuMicros(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2 (comm) is in parentheses and may contain spaces: split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of proc(5) are at 11 and 12 once the first two are cut off.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return ((utime + stime) * 1e6) / clockTicks();
}

/** Resolution of cpuMicros, in microseconds (one clock tick). */
export function cpuResolutionMicros(): number {
  return 1e6 / clockTicks();
}

/**
 * CPU time all CPUs have spent busy (user, nice, system, irq, softirq, steal)
 * since boot, in microseconds, from /proc/stat. Minus what the bench's own
 * processes used, it tells how much other software ran during a measurement.
 */
export function systemBusyMicros(): number | undefined {
  let stat: string;
  try {
    stat = readFileSync('/proc/stat', 'utf8');
  } catch {
    return undefined;
  }
  const line = stat.slice(0, stat.indexOf('\n'));
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
  return ((user + nice + system + irq + softirq + steal) * 1e6) / clockTicks();
}
