/** Helpers for cross-protocol tests: fixtures of both protocols, the translator driven in chunks, the OpenAI SDK as an oracle. */
import { readFileSync } from 'node:fs';
import OpenAI from 'openai';
import type { ProtocolName } from '../../src/model/types.ts';
import { SseParser } from '../../src/protocols/sse.ts';
import { createStreamTranslator } from '../../src/translate/index.ts';
import type { StreamTranslator, StreamTranslatorOptions } from '../../src/translate/index.ts';

export function fixture(protocol: ProtocolName, name: string): string {
  return readFileSync(new URL(`../fixtures/${protocol}/${name}.sse`, import.meta.url), 'utf8');
}

export interface Translated {
  out: string;
  translator: StreamTranslator;
}

/** Runs `text` through a translator, fed in `chunkSize`-byte pieces (default: all at once). */
export function translate(
  from: ProtocolName,
  to: ProtocolName,
  text: string,
  options: StreamTranslatorOptions = { includeUsage: true },
  chunkSize = Infinity,
): Translated {
  const translator = createStreamTranslator(from, to, options);
  const bytes = new TextEncoder().encode(text);
  const step = Number.isFinite(chunkSize) ? chunkSize : Math.max(1, bytes.length);
  let out = '';
  for (let i = 0; i < bytes.length; i += step) out += translator.pushBytes(bytes.subarray(i, i + step));
  out += translator.end();
  return { out, translator };
}

/** OpenAI SSE → parsed chunks (with `created` zeroed so tests can compare them exactly), '[DONE]' kept as a string. */
export function openaiChunks(sse: string): Array<Record<string, unknown> | '[DONE]'> {
  const parser = new SseParser();
  return [...parser.push(sse), ...parser.end()].map((m) => {
    if (m.event !== undefined) throw new Error(`OpenAI chunks carry no event name, got ${m.event}`);
    if (m.data === '[DONE]') return '[DONE]';
    const chunk = JSON.parse(m.data) as Record<string, unknown>;
    if (typeof chunk.created === 'number') chunk.created = 0;
    return chunk;
  });
}

/** Lets the official OpenAI SDK consume `sse` as a streamed chat completion; returns its accumulated completion. */
export async function sdkChatCompletion(sse: string): Promise<OpenAI.ChatCompletion> {
  const client = new OpenAI({
    apiKey: 'test-key',
    baseURL: 'http://127.0.0.1:1/v1',
    maxRetries: 0,
    fetch: async () => new Response(sse, { headers: { 'content-type': 'text/event-stream' } }),
  });
  const stream = client.chat.completions.stream({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
  return await stream.finalChatCompletion();
}
