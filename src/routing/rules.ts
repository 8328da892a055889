/**
 * The scenario predicates. Each is a cheap scan of the request; none copies
 * or serialises it.
 */
import type { ChatRequest, Part } from '../model/types.ts';

const TAG_OPEN = '<CCR-SUBAGENT-MODEL>';
const TAG_CLOSE = '</CCR-SUBAGENT-MODEL>';

function tagIn(text: string): string | undefined {
  const open = text.indexOf(TAG_OPEN);
  if (open === -1) return undefined;
  const start = open + TAG_OPEN.length;
  const close = text.indexOf(TAG_CLOSE, start);
  if (close === -1) return undefined;
  const name = text.slice(start, close).trim();
  return name.length > 0 ? name : undefined;
}

/**
 * The model named by a `<CCR-SUBAGENT-MODEL>name</CCR-SUBAGENT-MODEL>` tag
 * (the convention of claude-code-router, which Claude Code subagent prompts
 * use). Looked for in the system text blocks — Claude Code sends its identity
 * line as the first block and the agent's prompt after it — and in the text
 * of the first user message.
 */
export function subagentModel(req: ChatRequest): string | undefined {
  for (const part of req.system) {
    const name = tagIn(part.text);
    if (name !== undefined) return name;
  }
  for (const message of req.messages) {
    if (message.role !== 'user') continue;
    for (const part of message.content) {
      if (part.type !== 'text') continue;
      const name = tagIn(part.text);
      if (name !== undefined) return name;
    }
    break;
  }
  return undefined;
}

/** A provider-hosted web search tool (`web_search_20250305`, …) or a function tool named web_search. */
export function hasWebSearchTool(req: ChatRequest): boolean {
  if (req.tools === undefined) return false;
  for (const tool of req.tools) {
    if (tool.kind === 'server' ? tool.type.startsWith('web_search') : tool.name === 'web_search') return true;
  }
  return false;
}

export function wantsThinking(req: ChatRequest): boolean {
  const reasoning = req.reasoning;
  // `minimal` (OpenAI's reasoning_effort) asks for as little reasoning as there is: no thinking model needed.
  if (reasoning === undefined || reasoning.effort === 'minimal') return false;
  if (reasoning.mode === 'enabled') return true;
  // Claude Code sends adaptive thinking with every request, at effort `medium` by default: the
  // model decides whether to think. Only a high effort (Anthropic's default when none is given,
  // or `--effort high`/`max`) asks for the thinking model.
  return reasoning.mode === 'adaptive' && (reasoning.effort === undefined || reasoning.effort === 'high' || reasoning.effort === 'max');
}

function hasImage(parts: readonly Part[]): boolean {
  for (const part of parts) {
    if (part.type === 'image') return true;
    // A screenshot read by a tool arrives inside its result and needs a vision model just as much.
    if (part.type === 'tool_result' && hasImage(part.content)) return true;
  }
  return false;
}

/** Any image in the last user message, including inside tool results. */
export function lastUserMessageHasImage(req: ChatRequest): boolean {
  for (let i = req.messages.length - 1; i >= 0; i--) {
    const message = req.messages[i];
    if (message?.role === 'user') return hasImage(message.content);
  }
  return false;
}
