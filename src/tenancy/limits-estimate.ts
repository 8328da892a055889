/**
 * A cheap estimate of a request's input tokens, for admitting it against
 * token-per-minute limits and reserving budget before it runs; the real
 * usage settles the counts when it ends.
 *
 * The real tokenizer (src/routing/tokens.ts) costs ~0.3 µs per byte plus a
 * second to load; this walk only measures strings (Buffer.byteLength is
 * native) and reads one token per three UTF-8 bytes: a little above the 3.5–4
 * characters of English text per token, and about one token per CJK character.
 * Images count at a fixed size instead of their base64 length.
 */
import { IMAGE_TOKENS, MESSAGE_OVERHEAD_TOKENS, REQUEST_OVERHEAD_TOKENS } from '../routing/tokens.ts';

const BYTES_PER_TOKEN = 3;
/** Nesting is bounded by server.maxNestingDepth already; this only guards the recursion. */
const MAX_DEPTH = 64;

/** Input tokens of an Anthropic Messages or OpenAI Chat Completions body, rounded up. */
export function estimateInputTokens(body: Readonly<Record<string, unknown>>): number {
  let bytes = 0;
  let fixed = REQUEST_OVERHEAD_TOKENS;
  const walk = (value: unknown, depth: number): void => {
    if (typeof value === 'string') {
      bytes += Buffer.byteLength(value, 'utf8');
      return;
    }
    if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return;
    if (Array.isArray(value)) {
      for (const item of value) walk(item, depth + 1);
      return;
    }
    const record = value as Record<string, unknown>;
    if (isImage(record)) {
      fixed += IMAGE_TOKENS;
      return;
    }
    for (const key in record) walk(record[key], depth + 1);
  };
  const messages = body.messages;
  if (Array.isArray(messages)) {
    fixed += MESSAGE_OVERHEAD_TOKENS * messages.length;
    walk(messages, 0);
  }
  walk(body.system, 0);
  walk(body.tools, 0);
  walk(body.functions, 0);
  return fixed + Math.ceil(bytes / BYTES_PER_TOKEN);
}

/** Anthropic `{type:'image'|'document', source:{…}}` or OpenAI `{type:'image_url'|'input_audio'|'file', …}`. */
function isImage(record: Record<string, unknown>): boolean {
  const type = record.type;
  return type === 'image' || type === 'image_url' || type === 'document' || type === 'input_audio' || type === 'file';
}
