/**
 * What each protocol's mock encoder provides: the reply as one JSON body, or
 * as a stream script of SSE frames that the player writes with pacing.
 */
import type { ErrorKind, ProtocolName } from '../model/types.ts';
import type { Reply } from './reply.ts';

/** One write on the wire: SSE frames, and the output tokens they carry (0 = framing). */
export interface Frame {
  data: string | Buffer;
  tokens: number;
}

/**
 * A complete stream. `contentStart` is the first frame after the time to
 * first token; `tailStart` the first closing frame (stop reason onwards),
 * which the `no-finish` and `truncate` faults leave out.
 */
export interface StreamScript {
  frames: Frame[];
  contentStart: number;
  tailStart: number;
}

export interface WireEncoder {
  protocol: ProtocolName;
  /** The non-streaming body; `finished: false` leaves the stop reason null. */
  body(reply: Reply, finished: boolean): string;
  script(reply: Reply, includeUsage: boolean): StreamScript;
  errorBody(kind: ErrorKind, message: string, requestId: string): string;
  /** One SSE frame carrying an error, as the API sends it mid-stream. */
  errorFrame(kind: ErrorKind, message: string): string;
  /** The protocol's bare end of stream (`message_stop`, `[DONE]`). */
  terminatorFrame: string;
  /** An SSE frame whose data is not JSON, consistent with the given reply. */
  malformedFrame(reply: Reply): string;
}
