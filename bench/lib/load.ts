/**
 * Closed-loop load with autocannon, in this process: N connections, each
 * sending the next request as soon as the previous response ends. Latency is
 * recorded here in microseconds from autocannon's per-response timing (its
 * own histogram keeps whole milliseconds, too coarse for the sub-millisecond
 * differences this bench is about). Several runs (rounds) can record into one
 * histogram and be summed into one result.
 */
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import autocannon from 'autocannon';

export interface LoadSpec {
  url: string;
  body: string;
  headers: Record<string, string>;
  connections: number;
  durationS: number;
  /** Run on every response body; false counts as a mismatch (an error). */
  verify: (body: string) => boolean;
  /** Per-request timeout, seconds. */
  timeoutS?: number;
}

/** Counts of one run; latencies went to the histogram passed in. */
export interface LoadCounts {
  /** 2xx responses whose body passed the check. */
  ok: number;
  durationS: number;
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  timeouts: number;
  /** 2xx responses whose body did not look complete (non-2xx are counted in non2xx only). */
  mismatches: number;
  statusCodes: Record<string, number>;
}

export interface LoadResult extends LoadCounts {
  /** `ok` per second. */
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
}

/** Microseconds, 1 µs to 120 s, 3 significant digits. */
export function latencyHistogram(): RecordableHistogram {
  return createHistogram({ lowest: 1, highest: 120_000_000, figures: 3 });
}

export function runLoad(spec: LoadSpec, hist: RecordableHistogram): Promise<LoadCounts> {
  let twoXx = 0;
  // autocannon emits 'response' and then calls verifyBody for the same response, synchronously:
  // the status seen last is this body's. A non-2xx is already counted, so its body is not checked again.
  let lastOk = false;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        method: 'POST',
        headers: spec.headers,
        body: spec.body,
        connections: spec.connections,
        pipelining: 1,
        duration: spec.durationS,
        // autocannon stops on its first sample tick after the duration: a short tick keeps runs on time.
        sampleInt: 100,
        timeout: spec.timeoutS ?? 10,
        verifyBody: (body) => !lastOk || (typeof body === 'string' && spec.verify(body)),
      },
      (err, result) => {
        if (err !== null && err !== undefined) {
          reject(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        const statusCodes: Record<string, number> = {};
        for (const [code, value] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = value.count ?? 0;
        resolve({
          ok: Math.max(0, twoXx - result.mismatches),
          durationS: result.duration > 0 ? result.duration : spec.durationS,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          mismatches: result.mismatches,
          statusCodes,
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
      lastOk = statusCode >= 200 && statusCode < 300;
      if (lastOk) {
        twoXx++;
        hist.record(Math.max(1, Math.round(responseTimeMs * 1000)));
      }
    });
  });
}

const round3 = (n: number): number => Math.round(n * 1000) / 1000;

/** Sums the counts of several runs and reads the percentiles of their shared histogram. */
export function combine(runs: LoadCounts[], hist: RecordableHistogram): LoadResult {
  const total: LoadCounts = { ok: 0, durationS: 0, non2xx: 0, errors: 0, timeouts: 0, mismatches: 0, statusCodes: {} };
  for (const r of runs) {
    total.ok += r.ok;
    total.durationS += r.durationS;
    total.non2xx += r.non2xx;
    total.errors += r.errors;
    total.timeouts += r.timeouts;
    total.mismatches += r.mismatches;
    for (const [code, n] of Object.entries(r.statusCodes)) total.statusCodes[code] = (total.statusCodes[code] ?? 0) + n;
  }
  total.durationS = Math.round(total.durationS * 100) / 100;
  const empty = hist.count === 0;
  const ms = (us: number): number => (empty ? 0 : round3(us / 1000));
  return {
    ...total,
    rps: total.durationS === 0 ? 0 : Math.round((total.ok / total.durationS) * 10) / 10,
    p50Ms: ms(hist.percentile(50)),
    p90Ms: ms(hist.percentile(90)),
    p99Ms: ms(hist.percentile(99)),
    meanMs: ms(hist.mean),
    maxMs: ms(hist.max),
  };
}

/** Everything that went wrong in a run, as one number. */
export function failures(r: LoadCounts): number {
  return r.non2xx + r.errors + r.mismatches;
}
