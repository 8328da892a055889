/**
 * A large conversation for bench:large: ~100k tokens of varied text (this
 * repository's own sources and docs, code and prose mixed, as in a coding
 * agent's context) split over alternating user and assistant turns. Each
 * request gets a number in every message, so no two requests share a text
 * and no cache of counted texts helps: the worst case for token counting.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from './stack.ts';

/** Text files of the repository in a stable order: src and docs first, then the README. */
function sourceTexts(): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|md)$/.test(name)) files.push(path);
    }
  };
  walk(join(repoRoot, 'src'));
  walk(join(repoRoot, 'docs'));
  files.push(join(repoRoot, 'README.md'));
  return files.map((f) => `// ${relative(repoRoot, f)}\n${readFileSync(f, 'utf8')}`);
}

export interface Conversation {
  system: string;
  /** Alternating user / assistant, starting and ending with user. */
  turns: Array<{ role: 'user' | 'assistant'; text: string }>;
  bytes: number;
}

/** About `targetBytes` of text in turns of about `turnBytes`. Deterministic. */
export function buildConversation(targetBytes: number, turnBytes = 10_000): Conversation {
  const pool = sourceTexts().join('\n\n');
  const system = 'You are a coding agent working in this repository. Read the files the user shows you and answer precisely.';
  const turns: Conversation['turns'] = [];
  let bytes = system.length;
  for (let offset = 0, i = 0; bytes < targetBytes; i++) {
    if (offset + turnBytes > pool.length) offset = 0;
    const text = pool.slice(offset, offset + turnBytes);
    offset += turnBytes;
    turns.push({ role: i % 2 === 0 ? 'user' : 'assistant', text });
    bytes += Buffer.byteLength(text);
  }
  if (turns.at(-1)?.role !== 'user') turns.push({ role: 'user', text: 'Summarise what these files do, briefly.' });
  return { system, turns, bytes };
}

/** The marker replaced by the request number in every text. */
const MARK = '\u0000REQ\u0000';

/**
 * A body factory: the JSON is built once around markers, and each request's
 * body is the parts joined with its number (cheap, outside the timed call).
 */
function factory(json: string): (n: number) => string {
  const parts = json.split(JSON.stringify(MARK).slice(1, -1));
  return (n) => parts.join(String(n));
}

export function anthropicLargeBody(c: Conversation, model: string): (n: number) => string {
  return factory(
    JSON.stringify({
      model,
      max_tokens: 256,
      stream: true,
      system: c.system,
      messages: c.turns.map((t) => ({ role: t.role, content: `[request ${MARK}] ${t.text}` })),
    }),
  );
}

export function openaiLargeBody(c: Conversation, model: string): (n: number) => string {
  return factory(
    JSON.stringify({
      model,
      max_tokens: 256,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'system', content: c.system }, ...c.turns.map((t) => ({ role: t.role, content: `[request ${MARK}] ${t.text}` }))],
    }),
  );
}
