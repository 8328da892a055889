/** Shared by the OpenAI codec tests: replay a recorded SSE fixture through the decoder. */
import { readdirSync, readFileSync } from 'node:fs';
import type { StreamEvent } from '../../../src/model/types.ts';
import { createOpenAIStreamDecoder } from '../../../src/protocols/openai/stream.ts';
import { SseParser } from '../../../src/protocols/sse.ts';
import type { SseMessage } from '../../../src/protocols/sse.ts';

/** Every recorded OpenAI stream fixture: a new file is covered by the fixture-wide tests at once. */
export const fixtureNames: readonly string[] = readdirSync(new URL('../../fixtures/openai/', import.meta.url))
  .filter((f) => f.endsWith('.sse'))
  .sort();

export function readFixture(name: string): string {
  return readFileSync(new URL(`../../fixtures/openai/${name}`, import.meta.url), 'utf8');
}

export function parseSse(text: string): SseMessage[] {
  const parser = new SseParser();
  return [...parser.push(text), ...parser.end()];
}

/** Decodes SSE text, feeding it in pieces of `chunkSize` characters to exercise split messages. */
export function decodeSseText(text: string, chunkSize = text.length): StreamEvent[] {
  const parser = new SseParser();
  const decoder = createOpenAIStreamDecoder();
  const events: StreamEvent[] = [];
  for (let i = 0; i < text.length; i += chunkSize) {
    for (const msg of parser.push(text.slice(i, i + chunkSize))) events.push(...decoder.push(msg));
  }
  for (const msg of parser.end()) events.push(...decoder.push(msg));
  events.push(...decoder.end());
  return events;
}

export function decodeFixture(name: string, chunkSize?: number): StreamEvent[] {
  return decodeSseText(readFixture(name), chunkSize);
}
