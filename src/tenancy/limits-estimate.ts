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
 *
 * A large body is measured by its own length instead, less its images:
 * measuring every string of a 400 KB context cost ~0.3 ms, and the JSON around
 * the texts (keys, quotes, escapes) adds only ~3% to a long conversation.
 */
import { IMAGE_TOKENS, MESSAGE_OVERHEAD_TOKENS, REQUEST_OVERHEAD_TOKENS } from '../routing/tokens.ts';

const BYTES_PER_TOKEN = 3;
/** Nesting is bounded by server.maxNestingDepth already; this only guards the recursion. */
const MAX_DEPTH = 64;
/** From this many bytes a body is measured by its length (see above). */
export const RAW_LENGTH_FROM = 64 * 1024;

/**
 * Input tokens of an Anthropic Messages or OpenAI Chat Completions body,
 * rounded up. `rawBytes`: the body's length as received, when known.
 */
export function estimateInputTokens(body: Readonly<Record<string, unknown>>, rawBytes?: number): number {
  const measure = rawBytes === undefined || rawBytes < RAW_LENGTH_FROM;
  let bytes = 0;
  let imageBytes = 0;
  let fixed = REQUEST_OVERHEAD_TOKENS;
  const walk = (value: unknown, depth: number): void => {
    if (typeof value === 'string') {
      if (measure) bytes += Buffer.byteLength(value, 'utf8');
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
      if (!measure) imageBytes += charsIn(record, depth);
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
  if (!measure) bytes = Math.max(0, rawBytes - imageBytes);
  return fixed + Math.ceil(bytes / BYTES_PER_TOKEN);
}

/** Characters of the strings in `value`: an image's base64 or URL is ASCII, one byte each, and `length` needs no walk through the text. */
function charsIn(value: unknown, depth: number): number {
  if (typeof value === 'string') return value.length;
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return 0;
  let chars = 0;
  for (const item of Array.isArray(value) ? value : Object.values(value)) chars += charsIn(item, depth + 1);
  return chars;
}

/** Anthropic `{type:'image'|'document', source:{…}}` or OpenAI `{type:'image_url'|'input_audio'|'file', …}`. */
function isImage(record: Record<string, unknown>): boolean {
  const type = record.type;
  return type === 'image' || type === 'image_url' || type === 'document' || type === 'input_audio' || type === 'file';
}
