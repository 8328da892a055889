/**
 * OpenAI function names stop at 64 characters; Anthropic's tool names reach
 * 128, and MCP tools (`mcp__server__tool`) often pass 64. Toward an OpenAI
 * upstream a longer name is shortened the same way every time (a prefix and a
 * hash), so the tool list, `tool_choice` and earlier calls in the history all
 * agree; the answer's calls get the client's own name back
 * (`restoreToolNames`, from the request's tools).
 */
import { hash } from 'node:crypto';
import type { ChatRequest, ChatResponse } from '../../model/types.ts';

export const MAX_OPENAI_TOOL_NAME = 64;
const HASH_CHARS = 8;

export function openAIToolName(name: string): string {
  if (name.length <= MAX_OPENAI_TOOL_NAME) return name;
  const prefix = name.slice(0, MAX_OPENAI_TOOL_NAME - HASH_CHARS - 1);
  return `${prefix}_${hash('sha256', name, 'hex').slice(0, HASH_CHARS)}`;
}

/** Shortened name → the client's name, for the tools of `req` that had to be shortened (undefined when none). */
export function shortenedToolNames(req: ChatRequest): ReadonlyMap<string, string> | undefined {
  let names: Map<string, string> | undefined;
  for (const tool of req.tools ?? []) {
    if (tool.kind !== 'function' || tool.name.length <= MAX_OPENAI_TOOL_NAME) continue;
    (names ??= new Map()).set(openAIToolName(tool.name), tool.name);
  }
  return names;
}

/** `res` with the client's own names on the tool calls whose names were shortened. */
export function restoreToolNames(res: ChatResponse, names: ReadonlyMap<string, string> | undefined): ChatResponse {
  if (names === undefined) return res;
  const content = res.content.map((part) => {
    const original = part.type === 'tool_call' ? names.get(part.name) : undefined;
    return original === undefined ? part : { ...part, name: original };
  });
  return { ...res, content };
}
