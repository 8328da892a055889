/**
 * A lightweight HTTP client for the scale benches, on raw node:http: one
 * ClientRequest per request, no body kept beyond a short tail, so the load
 * generator holds thousands of open streams at little cost of its own.
 */
import { Agent, request } from 'node:http';

export interface StreamOutcome {
  ok: boolean;
  status: number;
  bytes: number;
  /** What went wrong, when not ok. */
  problem?: string;
  /** From sending the request to the response's last byte, ms. */
  ms: number;
}

export interface OpenStream {
  /** Resolves when the response headers arrive: true for a 200. Never rejects. */
  opened: Promise<boolean>;
  /** Resolves when the response ends, fails or times out. Never rejects. */
  done: Promise<StreamOutcome>;
}

export interface StreamRequest {
  url: URL;
  headers: Record<string, string>;
  body: string;
  /** Whether the response (its last 256 characters) ended the way a complete one does. */
  isComplete: (tail: string) => boolean;
  /** Socket idle time after which the request fails, ms. */
  idleTimeoutMs: number;
}

/** An agent that opens a socket per request and never queues: every stream is truly concurrent. */
export function unboundedAgent(keepAlive = false): Agent {
  return new Agent({ keepAlive, maxSockets: Infinity, maxFreeSockets: keepAlive ? 256 : 0 });
}

export function openStream(agent: Agent, spec: StreamRequest): OpenStream {
  const started = performance.now();
  let resolveOpened: (ok: boolean) => void = () => {};
  const opened = new Promise<boolean>((resolve) => (resolveOpened = resolve));
  const done = new Promise<StreamOutcome>((resolve) => {
    let settled = false;
    let status = 0;
    let bytes = 0;
    let tail = '';
    let sawError = false;
    const finish = (problem: string | undefined): void => {
      if (settled) return;
      settled = true;
      resolveOpened(false);
      const ms = performance.now() - started;
      resolve(problem === undefined ? { ok: true, status, bytes, ms } : { ok: false, status, bytes, ms, problem });
    };
    const req = request(
      {
        agent,
        method: 'POST',
        host: spec.url.hostname,
        port: spec.url.port,
        path: `${spec.url.pathname}${spec.url.search}`,
        headers: { ...spec.headers, 'content-length': String(Buffer.byteLength(spec.body)) },
      },
      (res) => {
        status = res.statusCode ?? 0;
        resolveOpened(status === 200);
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          bytes += chunk.length;
          // An error event is short and arrives whole in one chunk: checking each chunk is enough.
          if (chunk.includes('event: error')) sawError = true;
          tail = (tail + chunk).slice(-256);
        });
        res.on('end', () => {
          if (status !== 200) finish(`status ${status}: ${tail.slice(0, 200)}`);
          else if (sawError) finish('the stream carries an error event');
          else if (!spec.isComplete(tail)) finish(`incomplete response: …${tail.slice(-120)}`);
          else finish(undefined);
        });
        res.on('error', (err) => finish(`response error: ${err.message}`));
        // After 'end' this is a no-op; before it, the connection went away mid-response.
        res.on('close', () => finish('connection closed before the response ended'));
      },
    );
    req.setTimeout(spec.idleTimeoutMs, () => {
      req.destroy(new Error(`idle for ${spec.idleTimeoutMs} ms`));
    });
    req.on('error', (err) => finish(`request error: ${err.message}`));
    req.end(spec.body);
  });
  return { opened, done };
}

/** One request, waited for: status, the whole body, and the time to its last byte (ms). */
export function postOnce(agent: Agent, url: URL, headers: Record<string, string>, body: string, timeoutMs = 30_000): Promise<{ status: number; text: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, method: 'POST', host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }));
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
