/**
 * Open-loop load at a constant rate: request i is due at t0 + i / rate,
 * whether or not earlier responses have come back (a closed loop would wait,
 * and so hide the queueing a slow server causes: "coordinated omission").
 * In-flight requests are bounded; a due request that finds every slot taken
 * waits for one, and its latency is measured from its due time, so the wait
 * the server caused counts. One still unsent when the run ends is counted
 * unsent.
 *
 * The sender wakes every millisecond (libuv's timer resolution) and also right
 * after every response event. Its own lag (send − due, when a slot was free)
 * comes from that timer and from its CPU, not from the server, so for those
 * requests latency is measured from the actual send: otherwise the timer's
 * 0–1 ms would swamp the sub-millisecond differences this bench is about. The
 * lag is recorded apart, and so is the latency from the due time of every
 * request (the strict view).
 *
 * Requests go through one undici Pool per target with the dispatch-handler
 * API (no streams, no promises per request) to keep the load generator cheap.
 */
import { performance, type RecordableHistogram } from 'node:perf_hooks';
import { Pool, type Dispatcher } from 'undici';

/** Sent more than this after its due time: "late" (the sender wakes at least every millisecond). */
export const LATE_US = 2000;

export interface OpenLoopSpec {
  path: string;
  body: Buffer;
  headers: Record<string, string>;
  ratePerS: number;
  durationS: number;
  maxInFlight: number;
  /** Run on every 2xx body; false counts as a mismatch. */
  verify: (body: string) => boolean;
  /** Per-request timeout, seconds (headers and body). */
  timeoutS?: number;
}

export interface OpenLoopCounts {
  /** Requests due during the run: rate × duration. */
  scheduled: number;
  sent: number;
  /** 2xx responses whose body passed the check. */
  ok: number;
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  timeouts: number;
  mismatches: number;
  /** Sent more than LATE_US after their due time. */
  late: number;
  /** Due but never sent (every in-flight slot was taken until the run ended). */
  unsent: number;
  /** Sent late because every in-flight slot was taken when they fell due (a subset of the sent ones). */
  waitedForSlot: number;
  /** Wall time from the first due time to the last response, seconds. */
  durationS: number;
}

/** One pool per target, reused across runs so connections stay open between rounds. */
export function openLoopPool(origin: string, maxInFlight: number, timeoutS = 10): Pool {
  return new Pool(origin, {
    connections: maxInFlight,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    headersTimeout: timeoutS * 1000,
    bodyTimeout: timeoutS * 1000,
  });
}

/** Histograms a run records into, all in µs. */
export interface OpenLoopHistograms {
  /** From the actual send, or from the due time for a request that waited for a slot. */
  latency: RecordableHistogram;
  /** From the due time, for every request. */
  fromDue: RecordableHistogram;
  /** The sender's own lag: send − due, for sends that found a free slot. */
  lag: RecordableHistogram;
}

const toUs = (ms: number): number => Math.max(1, Math.round(ms * 1000));

export function runOpenLoop(pool: Pool, spec: OpenLoopSpec, hists: OpenLoopHistograms): Promise<OpenLoopCounts> {
  const total = Math.max(1, Math.round(spec.ratePerS * spec.durationS));
  const intervalMs = 1000 / spec.ratePerS;
  const timeoutMs = (spec.timeoutS ?? 10) * 1000;
  const counts: OpenLoopCounts = { scheduled: total, sent: 0, ok: 0, non2xx: 0, errors: 0, timeouts: 0, mismatches: 0, late: 0, unsent: 0, waitedForSlot: 0, durationS: 0 };
  const live = new Set<Dispatcher.DispatchController>();
  let inFlight = 0;
  let next = 0;
  let stopped = false;
  let pumpQueued = false;
  // Set while due requests are held back by the in-flight bound: their lag is the server's doing, not the sender's.
  let slotWait = false;
  const t0 = performance.now();
  const endAt = t0 + spec.durationS * 1000;

  return new Promise((resolve) => {
    let finish: (() => void) | undefined;
    const done = (): void => {
      if (stopped && inFlight === 0) finish?.();
    };

    const send = (due: number): void => {
      const sentAt = performance.now();
      const lagMs = sentAt - due;
      const heldBack = slotWait;
      if (heldBack) counts.waitedForSlot++;
      else hists.lag.record(toUs(lagMs));
      if (lagMs * 1000 > LATE_US) counts.late++;
      counts.sent++;
      inFlight++;
      let status = 0;
      let chunks: Buffer[] = [];
      let controller: Dispatcher.DispatchController | undefined;
      const settle = (): void => {
        if (controller !== undefined) live.delete(controller);
        inFlight--;
        queuePump();
        done();
      };
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart: (c) => {
          controller = c;
          live.add(c);
        },
        onResponseStart: (_c, statusCode) => {
          status = statusCode;
          queuePump();
        },
        onResponseData: (_c, chunk) => {
          if (status >= 200 && status < 300) chunks.push(chunk);
          queuePump();
        },
        onResponseEnd: () => {
          const end = performance.now();
          if (status < 200 || status >= 300) counts.non2xx++;
          else if (!spec.verify(Buffer.concat(chunks).toString('utf8'))) counts.mismatches++;
          else {
            counts.ok++;
            hists.latency.record(toUs(end - (heldBack ? due : sentAt)));
            hists.fromDue.record(toUs(end - due));
          }
          chunks = [];
          settle();
        },
        onResponseError: (_c, err) => {
          counts.errors++;
          const code = (err as { code?: unknown }).code;
          if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') counts.timeouts++;
          settle();
        },
      };
      pool.dispatch({ method: 'POST', path: spec.path, headers: spec.headers, body: spec.body }, handler);
    };

    // Sends every request due by now, as far as the in-flight bound allows.
    const pump = (): void => {
      pumpQueued = false;
      if (stopped) return;
      const now = performance.now();
      const due = Math.min(total, Math.floor((now - t0) / intervalMs) + 1);
      while (next < due && inFlight < spec.maxInFlight) send(t0 + next++ * intervalMs);
      slotWait = next < due;
      if (now >= endAt) stop();
    };
    // Called from inside undici's callbacks: send after they return, not re-entrantly.
    const queuePump = (): void => {
      if (pumpQueued || stopped) return;
      pumpQueued = true;
      queueMicrotask(pump);
    };

    const ticker = setInterval(pump, 1);
    let deadline: NodeJS.Timeout | undefined;
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      clearInterval(ticker);
      counts.unsent = total - next;
      // Bounded: whatever is still in flight after the timeout (+1 s) is aborted and counted as an error.
      deadline = setTimeout(() => {
        for (const c of live) c.abort(new Error('open-loop run: request outlived its timeout'));
      }, timeoutMs + 1000);
      done();
    };
    finish = (): void => {
      finish = undefined;
      if (deadline !== undefined) clearTimeout(deadline);
      counts.durationS = Math.round((performance.now() - t0) / 10) / 100;
      resolve(counts);
    };
    pump();
  });
}

/** Sums the counts of several runs (rounds) of one target. */
export function sumCounts(runs: readonly OpenLoopCounts[]): OpenLoopCounts {
  const total: OpenLoopCounts = { scheduled: 0, sent: 0, ok: 0, non2xx: 0, errors: 0, timeouts: 0, mismatches: 0, late: 0, unsent: 0, waitedForSlot: 0, durationS: 0 };
  for (const r of runs) {
    for (const key of Object.keys(total) as (keyof OpenLoopCounts)[]) total[key] += r[key];
  }
  total.durationS = Math.round(total.durationS * 100) / 100;
  return total;
}
