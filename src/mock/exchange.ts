/**
 * One request/response pair of the mock provider: the single place that owns
 * its timer and stream player, so an abort or close clears everything.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { ErrorKind } from '../model/types.ts';
import type { StreamPlayer } from './player.ts';
import type { WireEncoder } from './wire.ts';

export const sseHeaders: Readonly<OutgoingHttpHeaders> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
};

export class Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly path: string;
  /** Per-instance sequence number: deterministic ids for this request and its reply. */
  readonly seq: number;
  readonly requestId: string;
  readonly startedAt: number;
  /** The mock itself cut the connection (a fault): not a client abort. */
  selfDestroyed = false;
  finished = false;
  #timer: NodeJS.Timeout | undefined;
  #player: StreamPlayer | undefined;

  constructor(req: IncomingMessage, res: ServerResponse, path: string, seq: number) {
    this.req = req;
    this.res = res;
    this.path = path;
    this.seq = seq;
    this.requestId = `req_mock_${seq}`;
    this.startedAt = Date.now();
  }

  /** Runs `fn` after `ms` (at once when 0); the timer dies with the exchange. */
  later(ms: number, fn: () => void): void {
    if (ms <= 0) {
      fn();
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      fn();
    }, ms);
  }

  play(player: StreamPlayer): void {
    this.#player = player;
    player.start();
  }

  /** Clears the pending timer and stops the player; called on close, abort and shutdown. */
  cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#player?.cancel();
    this.#player = undefined;
  }

  /** Ids on both header names, so either protocol's client finds its own. */
  headers(extra?: OutgoingHttpHeaders): OutgoingHttpHeaders {
    return { ...extra, 'request-id': this.requestId, 'x-request-id': this.requestId };
  }

  sendJson(status: number, body: string, extra?: OutgoingHttpHeaders): void {
    if (this.res.headersSent || this.res.destroyed) return;
    const headers = this.headers(extra);
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(body);
    this.res.writeHead(status, headers);
    this.res.end(body);
  }

  sendError(wire: WireEncoder, status: number, kind: ErrorKind, message: string, extra?: OutgoingHttpHeaders): void {
    this.sendJson(status, wire.errorBody(kind, message, this.requestId), extra);
  }

  /** Cuts the connection with no response at all (the `reset` fault). */
  destroy(): void {
    this.selfDestroyed = true;
    this.req.socket.destroy();
  }
}
