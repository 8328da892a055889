/**
 * A minimal Chrome DevTools Protocol client for a bench child started with
 * `--inspect=127.0.0.1:0`: forces a full garbage collection and reads the V8
 * heap, so memory samples measure what is retained, not how much garbage
 * happened to be waiting for the next collection. Loopback only.
 */
import { readFileSync } from 'node:fs';

export const inspectFlag = '--inspect=127.0.0.1:0';

export interface HeapUsage {
  usedBytes: number;
  totalBytes: number;
}

export class Inspector {
  readonly #ws: WebSocket;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.addEventListener('message', (event) => {
      const msg = JSON.parse(String(event.data)) as { id?: number; result?: Record<string, unknown>; error?: { message: string } };
      if (msg.id === undefined) return;
      const waiter = this.#pending.get(msg.id);
      if (waiter === undefined) return;
      this.#pending.delete(msg.id);
      if (msg.error !== undefined) waiter.reject(new Error(msg.error.message));
      else waiter.resolve(msg.result ?? {});
    });
    ws.addEventListener('close', () => {
      for (const w of this.#pending.values()) w.reject(new Error('inspector connection closed'));
      this.#pending.clear();
    });
  }

  /** Connects to the inspector a child announced in its log ("Debugger listening on ws://…"). */
  static async fromLog(logFile: string, timeoutMs = 10_000): Promise<Inspector> {
    const deadline = Date.now() + timeoutMs;
    let url: string | undefined;
    while (url === undefined) {
      url = /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/.exec(readFileSync(logFile, 'utf8'))?.[1];
      if (url !== undefined) break;
      if (Date.now() > deadline) throw new Error(`no inspector URL in ${logFile}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve(), { once: true });
      ws.addEventListener('error', () => reject(new Error(`cannot connect to the inspector at ${url}`)), { once: true });
    });
    return new Inspector(ws);
  }

  call(method: string, params: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`inspector: ${method} took over ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** A full collection, then the heap in use. */
  async collectAndMeasure(): Promise<HeapUsage> {
    await this.call('HeapProfiler.collectGarbage');
    const usage = await this.call('Runtime.getHeapUsage');
    return { usedBytes: Number(usage.usedSize), totalBytes: Number(usage.totalSize) };
  }

  close(): void {
    this.#ws.close();
  }
}
