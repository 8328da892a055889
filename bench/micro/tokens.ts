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

function tasksFor(label: string, size: string, text: string): MicroTask[] {
  const cached = requestWith(text);
  const expected = countTokens(cached);
  return [
    {
      id: `tokens.${label}.cached`,
      title: `countTokens: ${size} user message seen before (cache hit)`,
      run: () => countTokens(cached),
      verify: () => {
        if (countTokens(cached) !== expected) throw new Error(`tokens.${label}.cached: count changed`);
      },
    },
    {
      id: `tokens.${label}.fresh`,
      title: `countTokens: ${size} user message never seen (tokenized)`,
      // A different first word each call: the cache never has it.
      run: () => countTokens(requestWith(`${++fresh} ${text}`)),
    },
  ];
}

export function tokenTasks(): MicroTask[] {
  loadTokenizer();
  const short = 'Where does the gateway spend its time under load? Please keep the answer short.';
  // Scale the long text to about 10,000 tokens from the tokens of a 1,000-word sample.
  const perWord = countTextTokens(longText(1000)) / 1000;
  const long = longText(Math.round(10_000 / perWord));
  const tokens = countTextTokens(long);
  if (tokens < 9_000 || tokens > 11_000) throw new Error(`tokens: the long text has ${tokens} tokens, expected about 10,000`);
  return [...tasksFor('short', `${countTextTokens(short)}-token`, short), ...tasksFor('10k', `${tokens}-token (${(long.length / 1024).toFixed(0)} KB)`, long)];
}
