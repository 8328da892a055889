/**
 * Input token counting for the longContext route, with a real BPE tokenizer
 * (o200k_base via js-tiktoken). Claude's tokenizer is not public; o200k is a
 * close, honest stand-in for a threshold decision.
 *
 * The tokenizer costs about a second of CPU and tens of MB to load, and
 * 0.4–1 µs per byte to run (a 400 KB context: 150–400 ms), so four things keep
 * it off the hot path:
 * - a byte-length upper bound first: a byte-level BPE token covers at least one
 *   UTF-8 byte, so a request whose bytes are under the threshold is under it in
 *   tokens too and never touches (or loads) the tokenizer;
 * - a lower bound from one pass over the characters (`lowerBoundTokens`, below):
 *   a request whose lower bound is over the threshold is over it in tokens too,
 *   so a long context is decided in well under a millisecond;
 * - counts of texts are cached by content, because clients resend the same
 *   system prompt, tool definitions and history on every turn;
 * - between the bounds, the threshold check counts text by text and stops as
 *   soon as the counted texts plus the bounds of the rest settle the answer.
 * The answer is always the one the full count would give.
 */
import { LRUCache } from 'lru-cache';
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
// lru-cache moves a hit to the front in O(1); a Map kept in LRU order by
// delete + re-insert on every hit slowed to ~20 µs per hit once tens of
// thousands of texts were cached (bench:micro, tokens.short cached).
const cache = new LRUCache<string, number>({ max: CACHE_MAX_ENTRIES, maxSize: CACHE_MAX_CHARS, sizeCalculation: (_count, text) => Math.max(1, text.length) });

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
  if (hit !== undefined) return hit;
  const count = encode(text);
  cache.set(text, count);
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

/** Character classes of the lower bound; every code unit at or above 0x80 is OTHER. */
const LETTER = 0;
const DIGIT = 1;
const PUNCT = 2;
const APOSTROPHE = 3;
const NEWLINE = 4;
const OTHER = 5;
const asciiClass = new Uint8Array(128).fill(PUNCT);
for (let c = 0x41; c <= 0x5a; c++) asciiClass[c] = LETTER;
for (let c = 0x61; c <= 0x7a; c++) asciiClass[c] = LETTER;
for (let c = 0x30; c <= 0x39; c++) asciiClass[c] = DIGIT;
asciiClass[0x27] = APOSTROPHE;
asciiClass[0x0a] = NEWLINE;
asciiClass[0x0d] = NEWLINE;

/** What the scan knows after a character (see `lowerBoundTokens`). */
interface ScanState {
  /** The run of ASCII letters and non-ASCII: none, not yet counted and countable, or counted (or not countable). */
  letters: 'none' | 'armed' | 'done';
  /** The run of ASCII digits and non-ASCII: -1 none, else its ASCII digits mod 3. */
  digitsMod3: number;
  /** The run of ASCII punctuation and spaces: none; closed (began after non-ASCII: proves nothing); open with its length (1, 2 = two or more). */
  punct: 'none' | 'closed' | 'open1' | 'open2';
  /** Class of the last character (-1 at the start). */
  last: number;
}

function step(state: ScanState, cls: number): { next: ScanState; pieces: number } {
  let pieces = 0;
  const isPunct = cls === PUNCT || cls === APOSTROPHE || cls === NEWLINE;
  let punct: ScanState['punct'] = 'none';
  if (isPunct) {
    if (state.punct === 'none') punct = state.last === OTHER ? 'closed' : 'open1';
    else punct = state.punct === 'closed' ? 'closed' : 'open2';
  } else if ((state.punct === 'open1' || state.punct === 'open2') && cls !== OTHER) {
    // The run ends at an ASCII letter or digit: it holds a piece of its own unless it is one character
    // that the letter's piece may take as its prefix (any but a line break) or contraction (an apostrophe).
    if (state.punct === 'open2' || cls !== LETTER || state.last === NEWLINE) pieces++;
  }
  let letters: ScanState['letters'] = 'none';
  if (cls === LETTER || cls === OTHER) {
    letters = state.letters === 'none' ? (state.last === APOSTROPHE ? 'done' : 'armed') : state.letters;
    if (cls === LETTER && letters === 'armed') {
      pieces++;
      letters = 'done';
    }
  }
  let digitsMod3 = -1;
  if (cls === DIGIT || cls === OTHER) {
    digitsMod3 = Math.max(0, state.digitsMod3);
    if (cls === DIGIT) {
      // The first digit of every three starts another piece: ⌈n/3⌉ in all.
      if (digitsMod3 === 0) pieces++;
      digitsMod3 = (digitsMod3 + 1) % 3;
    }
  }
  return { next: { letters, digitsMod3, punct, last: cls }, pieces };
}

/**
 * The scan as tables, built once from `step`: state × class → next state and
 * pieces proven, so the hot loop reads one table entry per character.
 */
const scan = (() => {
  const key = (s: ScanState): string => `${s.letters}|${s.digitsMod3}|${s.punct}|${s.last}`;
  const start: ScanState = { letters: 'none', digitsMod3: -1, punct: 'none', last: -1 };
  const states: ScanState[] = [start];
  const index = new Map([[key(start), 0]]);
  const edges: Array<{ from: number; cls: number; to: ScanState; pieces: number }> = [];
  for (let i = 0; i < states.length; i++) {
    for (let cls = LETTER; cls <= OTHER; cls++) {
      const { next, pieces } = step(states[i] as ScanState, cls);
      if (!index.has(key(next))) {
        index.set(key(next), states.length);
        states.push(next);
      }
      edges.push({ from: i, cls, to: next, pieces });
    }
  }
  // One entry per (state, ASCII code; non-ASCII at 128): the next state's row offset × 4 + pieces proven (0–2).
  const table = new Uint16Array(states.length * 129);
  for (const e of edges) {
    const packed = (index.get(key(e.to)) as number) * 129 * 4 + e.pieces;
    if (e.cls === OTHER) table[e.from * 129 + 128] = packed;
    else for (let code = 0; code < 128; code++) if (asciiClass[code] === e.cls) table[e.from * 129 + code] = packed;
  }
  // At the text's end an open punctuation run holds a piece (nothing can take its characters).
  const atEnd = new Uint8Array(states.length * 129);
  states.forEach((s, i) => (atEnd[i * 129] = s.punct === 'open1' || s.punct === 'open2' ? 1 : 0));
  if (states.length * 129 * 4 > 0xffff) throw new Error('lower bound scan: too many states to pack');
  return { table, atEnd };
})();

/**
 * A lower bound of `countTextTokens(text)` in one pass over the characters,
 * without the tokenizer. o200k first splits a text into pieces with its regex
 * (each piece then becomes one or more tokens); from that regex:
 * - letters: a piece holds one run of letters and marks, an optional prefix
 *   character before it and an optional contraction (`'s`, `'ll`…) after it.
 *   Taking every non-ASCII character as a possible letter, each maximal run of
 *   ASCII letters and non-ASCII that holds an ASCII letter and does not follow
 *   an apostrophe is part of a piece of its own;
 * - digits: pieces of one to three digits and nothing else, so a run of ASCII
 *   digits and non-ASCII holding n ASCII digits is at least ⌈n/3⌉ pieces;
 * - punctuation and spaces: a run of them between ASCII letters or digits (or
 *   the text's ends) holds a piece of its own, unless it is one character the
 *   next letter piece may take as its prefix or contraction.
 * These pieces are all distinct, so their number is a lower bound of the
 * tokens: on code and prose 70–85% of the real count, on JSON about half,
 * on text without ASCII letters next to nothing (it then gets counted).
 * With `enough`, the scan stops as soon as the bound passes it.
 */
export function lowerBoundTokens(text: string, enough = Infinity): number {
  const { table, atEnd } = scan;
  let row = 0;
  let pieces = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const code = text.charCodeAt(i);
    const packed = table[row + (code < 128 ? code : 128)] as number;
    pieces += packed & 3;
    row = packed >> 2;
    // Past what the caller needs to know: the rest of the text can only add.
    if (pieces > enough) return pieces;
  }
  return pieces + (atEnd[row] as number);
}

/**
 * Whether the request has more than `threshold` input tokens, with the answer
 * the full count would give. The bounds settle most requests without the
 * tokenizer: bytes under the threshold (short requests), or the lower bound
 * over it (long contexts). Only requests between the two are counted, text by
 * text (cached), until the counted texts plus the bounds of the rest decide.
 */
export function exceedsTokens(req: ChatRequest, threshold: number): boolean {
  const { fixed, texts } = collect(req);
  if (fixed > threshold) return true;
  // A text has at least as many UTF-8 bytes as UTF-16 units: when the lengths alone pass the
  // threshold the byte bound cannot settle it, and a long context skips measuring its bytes.
  let chars = fixed;
  for (const text of texts) chars += text.length;
  const utf8 = (): number[] => texts.map((text) => Buffer.byteLength(text, 'utf8'));
  let bytes = chars > threshold ? undefined : utf8();
  let upper = bytes === undefined ? undefined : bytes.reduce((sum, b) => sum + b, fixed);
  if (upper !== undefined && upper <= threshold) return false;
  // Longest texts first: they move the bounds most.
  const order = texts.map((_, i) => i).sort((a, b) => (texts[b] as string).length - (texts[a] as string).length);
  const lower = new Array<number>(texts.length).fill(0);
  let low = fixed;
  for (const i of order) {
    lower[i] = lowerBoundTokens(texts[i] as string, threshold - low);
    low += lower[i] as number;
    if (low > threshold) return true;
  }
  bytes ??= utf8();
  upper ??= bytes.reduce((sum, b) => sum + b, fixed);
  // Between the bounds: replace each text's bounds by its count until they agree.
  for (const i of order) {
    const count = countTextTokens(texts[i] as string);
    upper += count - (bytes[i] as number);
    low += count - (lower[i] as number);
    if (low > threshold) return true;
    if (upper <= threshold) return false;
  }
  return low > threshold;
}
