/**
 * A chat request's body as the client sent it, and the one change passthrough
 * makes to it: the top-level `model` (src/protocols/json-model.ts).
 *
 * Rewriting `model` into a fresh copy of a 400 KB body is not the memcpy, it
 * is the fresh memory: a new buffer of that size costs page faults and, being
 * memory outside V8's heap, brings the next full garbage collection closer.
 * So a body from `IN_PLACE_FROM` bytes that arrived in several chunks (a large
 * one always does) is joined into a buffer with `ROOM` spare bytes on each
 * side, and the first rewrite happens in that buffer: the shorter side of the
 * body (before or after the model's value) moves by the difference in length,
 * and the new value is written between.
 *
 * After that rewrite `bytes` is the rewritten body, and it never changes
 * again: undici may still be sending it, and a later attempt (failover, a
 * hedged twin) reads it to make its own copy with its own model.
 */
import { topLevelModelSpan, withTopLevelModel } from './json-model.ts';

/** From this size a joined body gets room to be rewritten in place (below it, a copy costs a few microseconds). */
export const IN_PLACE_FROM = 4 * 1024;
/** Spare bytes before and after such a body: the most a model's JSON string may grow by in place. */
export const ROOM = 256;

export class ClientBody {
  /** The body's bytes now: as received, or after the one in-place rewrite of `model`. */
  bytes: Buffer;
  /** Whether `bytes` sits in a buffer of ours with `ROOM` free on each side and was not rewritten yet. */
  #roomy: boolean;

  /** `roomy` only from `fromChunks`, which knows the buffer has the room. */
  constructor(bytes: Buffer, roomy = false) {
    this.bytes = bytes;
    this.#roomy = roomy;
  }

  /** The body of these chunks (`size` bytes in all): one chunk as it is; several joined, from `IN_PLACE_FROM` bytes with room. */
  static fromChunks(chunks: readonly Buffer[], size: number): ClientBody {
    // One chunk is used as it is, never changed (it may share its memory with the socket's next
    // bytes): a rewrite copies it. Several must be joined anyway, and then the room costs nothing.
    if (chunks.length === 1) return new ClientBody(chunks[0]!, false);
    if (size < IN_PLACE_FROM) return new ClientBody(Buffer.concat(chunks, size), false);
    const whole = Buffer.allocUnsafe(size + 2 * ROOM);
    let at = ROOM;
    for (const chunk of chunks) at += chunk.copy(whole, at);
    return new ClientBody(whole.subarray(ROOM, ROOM + size), true);
  }

  /**
   * The body with its top-level `model` set to `model`, or undefined when the
   * caller must re-serialise (json-model.ts says when). The first call may
   * rewrite `bytes` in place; later ones return a copy.
   */
  withModel(model: string): Buffer | undefined {
    const roomy = this.#roomy;
    this.#roomy = false;
    if (!roomy) return withTopLevelModel(this.bytes, model);
    const span = topLevelModelSpan(this.bytes);
    if (span === undefined) return undefined;
    const value = Buffer.from(JSON.stringify(model));
    // A name longer than the room allows (rare): a copy, as for a body without room.
    if (value.length - (span.end - span.start) > ROOM) return withTopLevelModel(this.bytes, model);
    this.bytes = rewriteInPlace(this.bytes, span, value);
    return this.bytes;
  }
}

/**
 * `body` with the model's value at `span` replaced by `value` (the JSON
 * string, at most `ROOM` bytes longer), rewritten in the memory around it:
 * a view of the same buffer.
 */
function rewriteInPlace(body: Buffer, span: { start: number; end: number }, value: Buffer): Buffer {
  const grow = value.length - (span.end - span.start);
  if (grow === 0 && value.equals(body.subarray(span.start, span.end))) return body;
  const whole = Buffer.from(body.buffer, body.byteOffset - ROOM, body.length + 2 * ROOM);
  const start = ROOM;
  if (span.start <= body.length - span.end) {
    // The part before the model is the shorter one: it moves left (or right, when the name shrinks).
    whole.copyWithin(start - grow, start, start + span.start);
    value.copy(whole, start - grow + span.start);
    return whole.subarray(start - grow, start + body.length);
  }
  // The part after the model is the shorter one: it moves right (or left).
  whole.copyWithin(start + span.end + grow, start + span.end, start + body.length);
  value.copy(whole, start + span.start);
  return whole.subarray(start, start + body.length + grow);
}
