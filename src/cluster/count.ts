/** How many gateway processes to run: `--workers N|auto` or `server.workers`. */
import { availableParallelism } from 'node:os';
import { MAX_WORKERS } from '../config/schema.ts';

/** `auto` is one per CPU this process may use; a number is taken as it is. */
export function resolveWorkerCount(value: number | 'auto'): number {
  return value === 'auto' ? Math.min(MAX_WORKERS, availableParallelism()) : value;
}

/** The `--workers` flag: `auto` or an integer 1…MAX_WORKERS; an error message otherwise. */
export function parseWorkersFlag(text: string): number | 'auto' | { error: string } {
  if (text === 'auto') return 'auto';
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isInteger(n) || n < 1 || n > MAX_WORKERS) {
    return { error: `--workers must be auto or an integer between 1 and ${MAX_WORKERS}, got '${text}'` };
  }
  return n;
}
