/**
 * Input token counting for the longContext route, with a real BPE tokenizer
 * (o200k_base via js-tiktoken). Claude's tokenizer is not public; o200k is a
 * close, honest stand-in for a threshold decision.
 *
 * The tokenizer costs about a second of CPU and tens of MB to load, and ~0.3 µs
 * per byte to run, so three things keep it off the hot path:
 * - a byte-length upper bound first: a byte-level BPE token covers at least one
 *   UTF-8 byte, so a request whose bytes are under the threshold is under it in
 *   tokens too and never touches (or loads) the tokenizer;
 * - counts of texts are cached by content, because clients resend the same
 *   system prompt, tool definitions and history on every turn;
 * - the threshold check stops counting as soon as the threshold is passed.
 */
import { createRequire } from 'node:module';
import type { Tiktoken, TiktokenBPE } from 'js-tiktoken/lite';
import type { ChatRequest, Part } from '../model/types.ts';

/** Fixed cost of one image (Anthropic: ~1,600 tokens for a ~1.1 MP image). */
export const IMAGE_TOKENS = 1600;
/** Role and separators around each message (OpenAI's cookbook counts 3–4). */
export const MESSAGE_OVERHEAD_TOKENS = 4;
/** Priming of the reply. */
export const REQUEST_OVERHEAD_TOKENS = 3;
/** Framing of each tool definition. */
export const TOOL_OVERHEAD_TOKENS = 8;

// Short texts are cached too: js-tiktoken compiles its regexes on every
// encode call (~10 µs), which dominates for tool names and short messages.
const CACHE_MAX_CHARS = 8_000_000;
const CACHE_MAX_ENTRIES = 50_000;

const requireCjs = createRequire(import.meta.url);
let encoder: Tiktoken | undefined;
const cache = new Map<string, number>();
let cachedChars = 0;

/** Loads the tokenizer now (synchronously, ~1 s) instead of on the first long request. */
export function loadTokenizer(): void {
  if (encoder !== undefined) return;
  // require, not import(): counting is synchronous, and the CJS build loads without a promise.
  const lite = requireCjs('js-tiktoken/lite') as { Tiktoken: typeof Tiktoken };
  const ranks = requireCjs('js-tiktoken/ranks/o200k_base') as TiktokenBPE | { default: TiktokenBPE };
  encoder = new lite.Tiktoken('default' in ranks ? ranks.default : ranks);
}

export function isTokenizerLoaded(): boolean {
  return encoder !== undefined;
}

function encode(text: string): number {
  loadTokenizer();
  // Special-token text such as "<|endoftext|>" is ordinary input here: no
  // allowed specials, none disallowed (the default would throw on them).
  return (encoder as Tiktoken).encode(text, [], []).length;
}

/** BPE token count of one text (o200k_base). */
export function countTextTokens(text: string): number {
  if (text.length === 0) return 0;
  if (text.length > CACHE_MAX_CHARS / 8) return encode(text);
  const hit = cache.get(text);
  if (hit !== undefined) {
    // Re-insert: Map order is the eviction order, so this keeps it LRU.
    cache.delete(text);
    cache.set(text, hit);
    return hit;
  }
  const count = encode(text);
  cache.set(text, count);
  cachedChars += text.length;
  for (const oldest of cache.keys()) {
    if (cachedChars <= CACHE_MAX_CHARS && cache.size <= CACHE_MAX_ENTRIES) break;
    cache.delete(oldest);
    cachedChars -= oldest.length;
  }
  return count;
}

interface Collected {
  /** Tokens that need no tokenizer: images and per-item overheads. */
  fixed: number;
  texts: string[];
}

function collectPart(part: Part, out: Collected): void {
  switch (part.type) {
    case 'text':
      out.texts.push(part.text);
      break;
    case 'image':
      out.fixed += IMAGE_TOKENS;
      break;
    case 'tool_call':
      out.texts.push(part.name, JSON.stringify(part.input));
      break;
    case 'tool_result':
      for (const inner of part.content) collectPart(inner, out);
      break;
    // Thinking from earlier turns is stripped by the provider, not counted as input.
    case 'thinking':
    case 'redacted_thinking':
      break;
  }
}

/** The texts to tokenize, largest and most repeated first (system, tools, history). */
function collect(req: ChatRequest): Collected {
  const out: Collected = { fixed: REQUEST_OVERHEAD_TOKENS, texts: [] };
  if (req.system.length > 0) out.fixed += MESSAGE_OVERHEAD_TOKENS;
  for (const part of req.system) out.texts.push(part.text);
  for (const tool of req.tools ?? []) {
    out.fixed += TOOL_OVERHEAD_TOKENS;
    if (tool.kind === 'function') {
      out.texts.push(tool.name, tool.description ?? '', JSON.stringify(tool.inputSchema));
    } else {
      out.texts.push(JSON.stringify(tool.raw));
    }
  }
  for (const message of req.messages) {
    out.fixed += MESSAGE_OVERHEAD_TOKENS;
    for (const part of message.content) collectPart(part, out);
  }
  return out;
}

function upperBound(collected: Collected): number {
  let total = collected.fixed;
  for (const text of collected.texts) total += Buffer.byteLength(text, 'utf8');
  return total;
}

/** Input tokens of a request: system, messages, tool calls and results, tool definitions. */
export function countTokens(req: ChatRequest): number {
  const collected = collect(req);
  let total = collected.fixed;
  for (const text of collected.texts) total += countTextTokens(text);
  return total;
}

/**
 * An upper bound of `countTokens(req)` without the tokenizer: UTF-8 bytes of
 * the texts plus the fixed costs.
 */
export function estimateUpperBoundBytes(req: ChatRequest): number {
  return upperBound(collect(req));
}

/** Whether the request has more than `threshold` input tokens, tokenizing only when it could. */
export function exceedsTokens(req: ChatRequest, threshold: number): boolean {
  const collected = collect(req);
  if (upperBound(collected) <= threshold) return false;
  let total = collected.fixed;
  if (total > threshold) return true;
  for (const text of collected.texts) {
    total += countTextTokens(text);
    if (total > threshold) return true;
  }
  return false;
}
