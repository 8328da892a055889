/**
 * The messages the primary and its workers exchange over node:cluster IPC.
 * Each carries `swy` (its kind), so anything else on the channel is ignored.
 */

/** Primary → worker. */
export type ToWorker =
  | { swy: 'reload' }
  | { swy: 'shutdown' }
  | { swy: 'collect-metrics'; id: number }
  | { swy: 'metrics'; id: number; text: string }
  | { swy: 'broadcast'; topic: string; payload: string };

/** Worker → primary. */
export type ToPrimary =
  | { swy: 'listening'; url: string }
  | { swy: 'metrics-text'; id: number; text: string }
  | { swy: 'gather-metrics'; id: number }
  | { swy: 'broadcast'; topic: string; payload: string }
  | { swy: 'reload-others' };

/** The message, when it is one of ours (a structured-cloned object with a string `swy`). */
export function asSwitchyardMessage<T extends { swy: string }>(message: unknown): T | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  return typeof (message as { swy?: unknown }).swy === 'string' ? (message as T) : undefined;
}

/** The environment variable that makes a forked process a Switchyard worker, and carries its slot. */
export const WORKER_ID_ENV = 'SWITCHYARD_WORKER_ID';
