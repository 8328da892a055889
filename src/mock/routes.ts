/**
 * The mock provider's fixed answers and request plumbing: routes, the models
 * list, the protocol an error should be shaped in, body collection.
 */
import type { IncomingMessage } from 'node:http';
import { anthropicWire } from './anthropic-wire.ts';
import { openaiWire } from './openai-wire.ts';
import type { WireEncoder } from './wire.ts';

export const maxBodyBytes = 32 * 1024 * 1024;

const modelIds = ['mock-model', 'claude-mock-sonnet', 'gpt-mock-4o'];
export const modelsBody = JSON.stringify({
  object: 'list',
  data: modelIds.map((id) => ({
    id,
    object: 'model',
    created: 1_700_000_000,
    owned_by: 'switchyard-mock',
    type: 'model',
    display_name: id,
    created_at: '2023-11-14T22:13:20Z',
  })),
  has_more: false,
  first_id: modelIds[0],
  last_id: modelIds[modelIds.length - 1],
});
export const healthBody = '{"status":"ok"}';

export function isPostPath(path: string): boolean {
  return path === '/v1/chat/completions' || path === '/v1/messages' || path === '/v1/messages/count_tokens';
}

/** Errors take the shape of the API the path (or, off the known paths, the headers) belongs to. */
export function wireFor(req: IncomingMessage, path: string): WireEncoder {
  if (path === '/v1/chat/completions') return openaiWire;
  if (path.startsWith('/v1/messages') || req.headers['anthropic-version'] !== undefined) return anthropicWire;
  return openaiWire;
}

/** Collects the body as text; undefined when it exceeds the size limit. */
export function readBody(req: IncomingMessage, done: (raw: string | undefined) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  req.on('data', (chunk: Buffer) => {
    if (over) return;
    size += chunk.length;
    if (size > maxBodyBytes) {
      over = true;
      chunks.length = 0;
      done(undefined);
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (over) return;
    done(chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8'));
  });
}
