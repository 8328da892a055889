/**
 * Writes a stream script to a response: frames before `contentStart` at
 * once, then the content paced by time to first token and tokens per second,
 * honouring backpressure. One timer at most, no promise per frame; frames
 * that are due together go out as one write.
 */
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Frame } from './wire.ts';

/** Characters joined into one write at most. */
const maxBatch = 64 * 1024;

/** What happens after the last frame: a clean end, a socket destroyed mid-response, or silence. */
export type StreamEnding = 'end' | 'destroy' | 'hold';

export interface PlayOptions {
  contentStart: number;
  ttftMs: number;
  tokensPerSecond: number;
  ending: StreamEnding;
  /** Called just before the player destroys the socket, so the server does not count a client abort. */
  onDestroy: () => void;
}

export class StreamPlayer {
  #res: ServerResponse;
  #frames: Frame[];
  #options: PlayOptions;
  #next = 0;
  /** Output tokens written so far, for the pacing schedule. */
  #tokens = 0;
  #origin = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #pump = (): void => this.#run();

  constructor(res: ServerResponse, frames: Frame[], options: PlayOptions) {
    this.#res = res;
    this.#frames = frames;
    this.#options = options;
  }

  start(): void {
    const { ttftMs, tokensPerSecond } = this.#options;
    if (ttftMs > 0 || tokensPerSecond > 0) this.#origin = performance.now();
    this.#run();
  }

  /** Stops writing and clears the timer; safe to call more than once. */
  cancel(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#res.off('drain', this.#pump);
  }

  /**
   * Frame k (k >= contentStart) is due at ttft + (tokens up to and including k) / tps:
   * the schedule is absolute, so timer lateness does not accumulate over a long stream.
   * Frames due together are joined into one write (one HTTP chunk, one syscall).
   */
  #run(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    const frames = this.#frames;
    const { contentStart, ttftMs, tokensPerSecond } = this.#options;
    let batch = '';
    while (this.#next < frames.length) {
      const frame = frames[this.#next] as Frame;
      let tokens = this.#tokens;
      if (this.#next >= contentStart) {
        tokens += frame.tokens;
        const due = ttftMs + (tokensPerSecond > 0 ? (tokens * 1000) / tokensPerSecond : 0);
        if (due > 0) {
          const wait = this.#origin + due - performance.now();
          if (wait >= 1) {
            if (batch === '' || this.#write(batch)) this.#timer = setTimeout(this.#pump, wait);
            return;
          }
        }
      }
      if (typeof frame.data === 'string') {
        this.#tokens = tokens;
        this.#next++;
        batch += frame.data;
        // Bounded, so a huge unpaced reply still goes out under backpressure.
        if (batch.length >= maxBatch) {
          const flowing = this.#write(batch);
          batch = '';
          if (!flowing) return;
        }
        continue;
      }
      // A Buffer (fixture replay) goes out on its own, after what was batched before it.
      if (batch !== '') {
        const flowing = this.#write(batch);
        batch = '';
        // Not taken yet: the frame is retried after 'drain'.
        if (!flowing) return;
      }
      this.#tokens = tokens;
      this.#next++;
      if (!this.#write(frame.data)) return;
    }
    this.#finish(batch);
  }

  /** Writes; on backpressure, arranges to resume on 'drain' and returns false. */
  #write(data: string | Buffer): boolean {
    if (this.#res.write(data)) return true;
    this.#res.once('drain', this.#pump);
    return false;
  }

  /** Ends the response as the script says, with the last batch in the same write. */
  #finish(batch: string): void {
    this.#stopped = true;
    const ending = this.#options.ending;
    if (ending === 'end') {
      if (batch === '') this.#res.end();
      else this.#res.end(batch);
      return;
    }
    if (batch !== '') this.#res.write(batch);
    if (ending === 'destroy') {
      this.#options.onDestroy();
      // destroySoon flushes what was written, then closes without the final chunk:
      // the client gets the partial content and then a truncated body.
      const socket = this.#res.socket;
      if (socket === null) this.#res.destroy();
      else socket.destroySoon();
    }
  }
}
