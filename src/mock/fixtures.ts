/**
 * Recorded provider streams (`<dir>/<protocol>/<name>.sse`) for the
 * `fixture:<name>` fault, read once and kept in memory so replaying one costs
 * no file I/O on later requests.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProtocolName } from '../model/types.ts';
import type { Frame } from './wire.ts';

/** A replay goes out in a few writes, split at arbitrary byte offsets, to exercise clients' reassembly. */
const replayChunks = 4;

export class FixtureStore {
  #dir: string;
  #cache = new Map<string, Frame[]>();

  constructor(dir: string) {
    this.#dir = dir;
  }

  get dir(): string {
    return this.#dir;
  }

  set dir(dir: string) {
    if (dir !== this.#dir) this.#cache.clear();
    this.#dir = dir;
  }

  /** The frames to replay, or undefined when the file does not exist or cannot be read. */
  frames(protocol: ProtocolName, name: string): Frame[] | undefined {
    const path = join(this.#dir, protocol, `${name}.sse`);
    const cached = this.#cache.get(path);
    if (cached !== undefined) return cached;
    let bytes: Buffer;
    try {
      // Synchronous on first use only: fixture files are small and then cached.
      bytes = readFileSync(path);
    } catch {
      // Not cached, so a fixture written later is still found.
      return undefined;
    }
    const frames: Frame[] = [];
    const count = Math.min(replayChunks, bytes.length);
    for (let i = 0; i < count; i++) {
      const from = Math.floor((i * bytes.length) / count);
      const to = Math.floor(((i + 1) * bytes.length) / count);
      frames.push({ data: bytes.subarray(from, to), tokens: 1 });
    }
    this.#cache.set(path, frames);
    return frames;
  }

  /** The path a fixture is looked up at, for error messages. */
  pathOf(protocol: ProtocolName, name: string): string {
    return join(this.#dir, protocol, `${name}.sse`);
  }
}
