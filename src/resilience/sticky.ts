/**
 * Sticky routing for prompt caches (issue 3): requests that share a
 * conversation prefix — system prompt, tools and first user message, with
 * `cache_control` markers stripped — prefer the same deployment, so the
 * provider's prompt cache keeps hitting. Rendezvous hashing picks it: adding
 * or removing a deployment only moves the conversations that were on it.
 */
import { createHash } from 'node:crypto';
import type { ChatRequest, Part, Tool } from '../model/types.ts';

/** A stable digest of what a provider's prompt cache keys on. */
export function conversationKey(req: ChatRequest): string {
  const firstUser = req.messages.find((m) => m.role === 'user');
  const prefix = {
    system: req.system.map((p) => p.text),
    tools: (req.tools ?? []).map(toolShape),
    first: firstUser === undefined ? [] : firstUser.content.map(partShape),
  };
  return createHash('sha1').update(JSON.stringify(prefix)).digest('hex');
}

function toolShape(tool: Tool): unknown {
  return tool.kind === 'function' ? [tool.name, tool.description ?? '', tool.inputSchema] : [tool.type, tool.name];
}

/** A part without its cache markers (markers move between turns; the content does not). */
function partShape(part: Part): unknown {
  if (part.type === 'tool_result') {
    return { type: part.type, toolCallId: part.toolCallId, isError: part.isError === true, content: part.content.map(partShape) };
  }
  if (!('cacheControl' in part)) return part;
  const { cacheControl: _marker, ...rest } = part;
  return rest;
}

/** FNV-1a, 32 bits: cheap and well spread for short strings. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The index of the deployment this conversation prefers (highest rendezvous score). */
export function preferredIndex(key: string, ids: readonly string[]): number {
  let best = 0;
  let bestScore = -1;
  for (let i = 0; i < ids.length; i++) {
    const score = fnv1a(`${key}|${ids[i]}`);
    if (score > bestScore) {
      bestScore = score;
      best = i;
    }
  }
  return best;
}
