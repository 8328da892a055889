/**
 * Token counting as src does it (src/routing/tokens.ts: o200k BPE through
 * js-tiktoken, behind a per-text cache): the count_tokens fallback and the
 * longContext rule. "cached" is a text seen before (a resent system prompt or
 * history); "fresh" a text never seen, which runs the tokenizer.
 */
import type { ChatRequest } from '../../src/model/types.ts';
import { countTextTokens, countTokens, loadTokenizer } from '../../src/routing/index.ts';
import { longText } from './fixtures.ts';
import type { MicroTask } from './task.ts';

function requestWith(text: string): ChatRequest {
  return { model: 'claude-sonnet-4-5', system: [], messages: [{ role: 'user', content: [{ type: 'text', text }] }], stream: false };
}

let fresh = 0;

function cachedTask(label: string, size: string, text: string): MicroTask {
  const req = requestWith(text);
  const expected = countTokens(req);
  return {
    id: `tokens.${label}.cached`,
    title: `countTokens: ${size} user message seen before (cache hit, few entries cached)`,
    run: () => countTokens(req),
    verify: () => {
      if (countTokens(req) !== expected) throw new Error(`tokens.${label}.cached: count changed`);
    },
  };
}

function freshTask(label: string, size: string, text: string): MicroTask {
  return {
    id: `tokens.${label}.fresh`,
    title: `countTokens: ${size} user message never seen (tokenized, then cached)`,
    // A different first word each call: the cache never has it.
    run: () => countTokens(requestWith(`${++fresh} ${text}`)),
  };
}

/** Distinct short texts put in the cache before the full-cache task: near its 50,000-entry bound. */
const FULL_CACHE_ENTRIES = 45_000;

export function tokenTasks(): MicroTask[] {
  loadTokenizer();
  const short = 'Where does the gateway spend its time under load? Please keep the answer short.';
  // Scale the long text to about 10,000 tokens from the tokens of a 1,000-word sample.
  const perWord = countTextTokens(longText(1000)) / 1000;
  const long = longText(Math.round(10_000 / perWord));
  const tokens = countTextTokens(long);
  if (tokens < 9_000 || tokens > 11_000) throw new Error(`tokens: the long text has ${tokens} tokens, expected about 10,000`);
  const shortSize = `${countTextTokens(short)}-token`;
  const longSize = `${tokens}-token (${(long.length / 1024).toFixed(0)} KB)`;
  const busy = requestWith(short);
  // The cache's cost depends on how full it is, so the order is fixed: hits on a nearly empty
  // cache first, then the fresh texts (which fill it), then hits on a cache kept full on purpose.
  return [
    cachedTask('short', shortSize, short),
    cachedTask('10k', longSize, long),
    freshTask('short', shortSize, short),
    freshTask('10k', longSize, long),
    {
      id: 'tokens.short.cached-full',
      title: `countTokens: ${shortSize} user message seen before, with ${FULL_CACHE_ENTRIES.toLocaleString('en-US')}+ texts cached`,
      prepare: () => {
        for (let i = 0; i < FULL_CACHE_ENTRIES; i++) countTextTokens(`cache filler ${i}: ${short}`);
      },
      run: () => countTokens(busy),
    },
  ];
}
