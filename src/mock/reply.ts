/**
 * The mock's answer to one request, decided once and independent of the wire
 * protocol: thinking, text or tool calls, already cut into stream pieces,
 * with stop reason and usage. Deterministic: same request, same reply.
 */
import type { MockRequest } from './request.ts';
import { planToolCalls } from './tools.ts';
import type { ToolCallMode } from './options.ts';

/** One stream delta and the tokens it stands for (for pacing and usage). */
export interface Piece {
  text: string;
  tokens: number;
}

export interface ReplyToolCall {
  id: string;
  name: string;
  input: Record<string, unknown>;
  /** `input` as JSON, and the same text cut into argument deltas. */
  json: string;
  pieces: Piece[];
}

export type MockStopReason = 'end_turn' | 'max_tokens' | 'tool_use' | 'stop_sequence';

export interface Reply {
  id: string;
  seq: number;
  model: string;
  /** Unix seconds (OpenAI `created`). */
  created: number;
  thinking: { text: string; signature: string; pieces: Piece[] } | undefined;
  /** Undefined when the reply is tool calls. */
  text: { text: string; pieces: Piece[] } | undefined;
  toolCalls: ReplyToolCall[];
  stopReason: MockStopReason;
  stopSequence: string | null;
  usage: {
    /** All input tokens, cached ones included (OpenAI `prompt_tokens` semantics). */
    inputTokens: number;
    cacheReadTokens: number;
    outputTokens: number;
    reasoningTokens: number;
  };
}

export interface ReplySettings {
  outputTokens: number;
  chunkCount: number | undefined;
  tool: string | undefined;
  parallelTools: number | undefined;
  toolCalls: ToolCallMode;
}

const filler = ['lorem', 'ipsum', 'dolor', 'sit', 'amet', 'consectetur', 'adipiscing', 'elit'];
const wordPattern = /\S+/g;

/** The reply, or the message of a 400 error. */
export function buildReply(request: MockRequest, settings: ReplySettings, seq: number): Reply | string {
  const calls = planToolCalls(request, settings.tool, settings.parallelTools, settings.toolCalls);
  if (typeof calls === 'string') return calls;
  const anthropic = request.protocol === 'anthropic';
  const source = request.toolResult ?? request.lastUserText;

  let thinking: Reply['thinking'];
  let reasoningTokens = 0;
  if (request.thinking) {
    const words = ['Considering', 'the', 'request:', ...firstWords(source, 6), 'so', 'a', 'mock', 'answer', 'will', 'do.'];
    const text = words.join(' ');
    reasoningTokens = words.length;
    const signature = Buffer.from(`mock-thinking-signature:${request.model}:${text.length}`).toString('base64');
    thinking = { text, signature, pieces: group(tokensOf(words), Math.min(settings.chunkCount ?? 4, 4)) };
  }

  const usage = { inputTokens: Math.max(1, Math.ceil(request.inputChars / 4)), cacheReadTokens: 0, outputTokens: 0, reasoningTokens };
  if (request.cacheMarked) usage.cacheReadTokens = Math.ceil(usage.inputTokens / 2);
  const reply: Reply = {
    id: anthropic ? `msg_mock_${seq}` : `chatcmpl-mock-${seq}`,
    seq,
    model: request.model,
    created: Math.floor(Date.now() / 1000),
    thinking,
    text: undefined,
    toolCalls: [],
    stopReason: 'end_turn',
    stopSequence: null,
    usage,
  };

  if (calls.length > 0) {
    let toolTokens = 0;
    reply.toolCalls = calls.map((call, i) => {
      const json = JSON.stringify(call.input);
      const pieces = splitJson(json);
      for (const piece of pieces) toolTokens += piece.tokens;
      return { id: anthropic ? `toolu_mock_${seq}_${i}` : `call_mock_${seq}_${i}`, name: call.name, input: call.input, json, pieces };
    });
    reply.stopReason = 'tool_use';
    usage.outputTokens = reasoningTokens + toolTokens;
    return reply;
  }

  const n = settings.outputTokens;
  const words = ['Mock', 'reply', 'from', `${request.model}:`];
  if (request.toolResult !== undefined) words.push('tool', 'result:');
  words.push(...firstWords(source, n));
  for (let i = 0; words.length < n; i++) words.push(filler[i % filler.length] as string);
  words.length = n;
  let tokens = tokensOf(words);

  const limit = request.maxTokens ?? Infinity;
  const generated = limit < tokens.length ? tokens.slice(0, limit) : tokens;
  const stop = findStop(generated.join(''), request.stopSequences);
  if (stop !== undefined) {
    tokens = cutAt(generated, stop.at);
    reply.stopReason = 'stop_sequence';
    reply.stopSequence = stop.sequence;
  } else if (generated !== tokens) {
    tokens = generated;
    reply.stopReason = 'max_tokens';
  }
  reply.text = { text: tokens.join(''), pieces: group(tokens, settings.chunkCount ?? tokens.length) };
  usage.outputTokens = reasoningTokens + tokens.length;
  return reply;
}

/** The first `max` whitespace-separated words, without splitting the whole (possibly huge) text. */
function firstWords(text: string, max: number): string[] {
  const out: string[] = [];
  wordPattern.lastIndex = 0;
  while (out.length < max) {
    const match = wordPattern.exec(text);
    if (match === null) break;
    out.push(match[0]);
  }
  wordPattern.lastIndex = 0;
  return out;
}

/** A token is a word plus its following space; the last word has none. */
function tokensOf(words: string[]): string[] {
  const last = words.length - 1;
  return words.map((word, i) => (i < last ? `${word} ` : word));
}

/** The earliest stop sequence in the text (the one listed first on a tie). */
function findStop(text: string, sequences: string[]): { at: number; sequence: string } | undefined {
  let best: { at: number; sequence: string } | undefined;
  for (const sequence of sequences) {
    if (sequence === '') continue;
    const at = text.indexOf(sequence);
    if (at !== -1 && (best === undefined || at < best.at)) best = { at, sequence };
  }
  return best;
}

/** The tokens up to character `at`, the last one cut short if the stop falls inside it. */
function cutAt(tokens: string[], at: number): string[] {
  const out: string[] = [];
  let end = 0;
  for (const token of tokens) {
    if (end + token.length <= at) {
      out.push(token);
      end += token.length;
      continue;
    }
    if (at > end) out.push(token.slice(0, at - end));
    break;
  }
  return out;
}

/** Groups tokens into `chunks` pieces of near-equal size (never more pieces than tokens). */
function group(tokens: string[], chunks: number): Piece[] {
  const n = tokens.length;
  if (n === 0) return [];
  const c = Math.max(1, Math.min(chunks, n));
  if (c === n) return tokens.map((text) => ({ text, tokens: 1 }));
  const out: Piece[] = [];
  for (let i = 0; i < c; i++) {
    const from = Math.floor((i * n) / c);
    const to = Math.floor(((i + 1) * n) / c);
    out.push({ text: tokens.slice(from, to).join(''), tokens: to - from });
  }
  return out;
}

/** Tool arguments go out in up to four deltas, at least two once the JSON has 16 characters. */
function splitJson(json: string): Piece[] {
  const count = Math.min(4, Math.max(1, Math.floor(json.length / 8)));
  const out: Piece[] = [];
  let from = 0;
  for (let i = 1; i <= count; i++) {
    let to = Math.floor((i * json.length) / count);
    // Never cut between the two halves of a surrogate pair.
    if (to < json.length && isLowSurrogate(json.charCodeAt(to))) to++;
    if (to <= from) continue;
    const text = json.slice(from, to);
    out.push({ text, tokens: Math.max(1, Math.ceil(text.length / 4)) });
    from = to;
  }
  return out;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
