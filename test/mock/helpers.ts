/** Shared helpers for the mock provider tests: a mock on port 0 with cleanup, and small HTTP/SSE readers. */
import type { TestContext } from 'node:test';
import { SseParser } from '../../src/protocols/sse.ts';
import type { SseMessage } from '../../src/protocols/sse.ts';
import { startMockProvider } from '../../src/mock/server.ts';
import type { MockOptions, MockProvider } from '../../src/mock/server.ts';

export async function startMock(t: TestContext, options: MockOptions = {}): Promise<MockProvider> {
  const mock = await startMockProvider({ host: '127.0.0.1', port: 0, ...options });
  t.after(() => mock.close());
  return mock;
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

export function parseSse(text: string): SseMessage[] {
  const parser = new SseParser();
  const out = parser.push(text);
  out.push(...parser.end());
  return out;
}

/** Parsed `data` of every SSE message that is JSON (OpenAI's `[DONE]` left out). */
export function sseData(text: string): Array<Record<string, unknown>> {
  return parseSse(text)
    .filter((message) => message.data !== '[DONE]')
    .map((message) => JSON.parse(message.data) as Record<string, unknown>);
}

/** Polls until `check` holds, at most `ms`; every wait is bounded. */
export async function waitFor(check: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
}

export const userAsks = (text: string) => [{ role: 'user', content: text }];

/** The text deltas of an Anthropic stream, joined. */
export function anthropicText(text: string): string {
  return sseData(text)
    .filter((event) => event['type'] === 'content_block_delta')
    .map((event) => (event['delta'] as { text?: string }).text ?? '')
    .join('');
}

/** The content deltas of an OpenAI stream, joined. */
export function openaiText(text: string): string {
  return sseData(text)
    .map((chunk) => (chunk['choices'] as Array<{ delta?: { content?: string | null } }> | undefined)?.[0]?.delta?.content ?? '')
    .join('');
}
