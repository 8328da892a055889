/**
 * Internal ChatRequest -> Anthropic Messages request body, for an Anthropic
 * upstream serving a client of another protocol. Everything here repairs what
 * Anthropic would reject (https://docs.anthropic.com/en/api/messages,
 * https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking).
 */
import type { ChatRequest, Message, Part, Reasoning, ReasoningEffort, Tool, ToolChoice } from '../../model/types.ts';
import { encodePart, encodeText } from './blocks.ts';
import { encodeCacheControl } from './shape.ts';
import type { JsonObject } from './shape.ts';

export interface EncodeAnthropicRequestOptions {
  /** `max_tokens` when the client gave none (Anthropic requires it). Default 4096. */
  defaultMaxTokens?: number;
  /** The deployment's limit: `max_tokens` never goes over it, a thinking budget shrinks to fit. */
  maxTokensLimit?: number;
}

export interface WireMessage {
  role: 'user' | 'assistant';
  content: JsonObject[];
}

/** Thinking budgets for an effort-only request (OpenAI `reasoning_effort`). */
const budgetByEffort: Readonly<Record<Exclude<ReasoningEffort, 'minimal'>, number>> = {
  low: 2048,
  medium: 8192,
  high: 16384,
  max: 32000,
};
const MIN_BUDGET = 1024;
const SAFE_ID = /^[a-zA-Z0-9_-]+$/;
const UNSAFE_ID_CHARS = /[^a-zA-Z0-9_-]/g;

/**
 * @example
 * encodeAnthropicRequest(decodeOpenAIRequest(body), 'claude-sonnet-4-5', { defaultMaxTokens: 8192 })
 */
export function encodeAnthropicRequest(
  req: ChatRequest,
  upstreamModel: string,
  options: EncodeAnthropicRequestOptions = {},
): Record<string, unknown> {
  const toolId = createToolIdMapper();
  const system: JsonObject[] = [];
  for (const part of req.system) if (part.text.length > 0) system.push(encodeText(part));
  const messages = encodeMessages(req.messages, system, toolId);
  // OpenAI takes a conversation of system messages alone; Anthropic needs a message:
  // the instructions become the user's turn rather than a 400.
  if (messages.length === 0 && system.length > 0) messages.push({ role: 'user', content: system.splice(0) });
  trimPrefill(messages);
  const tools = req.tools !== undefined && req.tools.length > 0 ? req.tools.map(encodeTool) : undefined;
  const toolChoice = tools === undefined ? undefined : encodeToolChoice(req.toolChoice, req.parallelToolCalls);

  let thinking = encodeThinking(req.reasoning);
  const type = thinking.config?.type;
  if (
    (type === 'enabled' || type === 'adaptive') &&
    // Anthropic rejects thinking with a forced tool or a prefilled answer
    // (a final assistant message), and, with a fixed budget, a tool-use turn
    // whose first assistant message lost its thinking block (unsigned, or
    // dropped by the client): thinking goes, the conversation stays.
    (toolChoice?.type === 'any' ||
      toolChoice?.type === 'tool' ||
      messages[messages.length - 1]?.role === 'assistant' ||
      (type === 'enabled' && turnLacksThinking(messages)))
  ) {
    thinking = { effort: thinking.effort };
  }

  // Anthropic requires a positive max_tokens; 0 (legal for some OpenAI clients) reads as unset.
  let maxTokens = req.maxTokens !== undefined && req.maxTokens > 0 ? req.maxTokens : (options.defaultMaxTokens ?? 4096);
  // budget_tokens must stay below max_tokens: the client's limit is read as
  // room for the answer, on top of the thinking budget.
  if (thinking.budget !== undefined && maxTokens <= thinking.budget) maxTokens += thinking.budget;
  const limit = options.maxTokensLimit;
  if (limit !== undefined && maxTokens > limit) {
    maxTokens = limit;
    // Under the deployment's cap the budget gets half, the answer the rest; a cap too
    // small for the least budget Anthropic takes leaves no room to think at all.
    if (thinking.budget !== undefined && thinking.budget >= maxTokens) {
      const budget = Math.floor(maxTokens / 2);
      thinking = budget >= MIN_BUDGET ? { ...thinking, budget, config: { ...thinking.config, budget_tokens: budget } } : { effort: thinking.effort };
    }
  }

  const body: JsonObject = { model: upstreamModel, max_tokens: maxTokens, messages };
  if (system.length > 0) body.system = system;
  const thinkingOn = thinking.config !== undefined && thinking.config.type !== 'disabled';
  // Sampling parameters are rejected while thinking.
  if (!thinkingOn) {
    if (req.temperature !== undefined) body.temperature = Math.min(1, Math.max(0, req.temperature));
    // Claude 4.5+ models reject temperature together with top_p ("cannot both
    // be specified"), and OpenAI clients often send both: temperature wins.
    else if (req.topP !== undefined) body.top_p = req.topP;
    if (req.topK !== undefined) body.top_k = req.topK;
  }
  // Anthropic rejects empty and whitespace-only stop sequences (OpenAI clients send "\n\n").
  const stops = req.stopSequences?.filter((stop) => stop.trim().length > 0);
  if (stops !== undefined && stops.length > 0) body.stop_sequences = stops;
  if (req.stream) body.stream = true;
  if (req.user !== undefined) body.metadata = { user_id: req.user };
  if (tools !== undefined) body.tools = tools;
  if (toolChoice !== undefined) body.tool_choice = toolChoice;
  if (thinking.config !== undefined) body.thinking = thinking.config;
  if (thinking.effort !== undefined) body.output_config = { effort: thinking.effort };
  return body;
}

/**
 * Builds `messages`, appending leading system messages to `system`. Later
 * system messages become `<system>` user text (Anthropic messages have no
 * system role); same-role neighbours merge; parts Anthropic would reject go.
 */
function encodeMessages(messages: Message[], system: JsonObject[], toolId: (id: string) => string): WireMessage[] {
  const out: WireMessage[] = [];
  let leading = true;
  for (const msg of messages) {
    let role: 'user' | 'assistant';
    let content: JsonObject[];
    if (msg.role === 'system') {
      if (leading) {
        for (const part of msg.content) if (part.type === 'text' && part.text.length > 0) system.push(encodeText(part));
        continue;
      }
      const text = systemText(msg.content);
      if (text.length === 0) continue;
      role = 'user';
      content = [{ type: 'text', text: `<system>\n${text}\n</system>` }];
    } else {
      leading = false;
      role = msg.role;
      content = [];
      for (const part of msg.content) if (keep(part)) content.push(encodePart(part, toolId));
      if (content.length === 0) continue;
    }
    const last = out[out.length - 1];
    if (last !== undefined && last.role === role) {
      for (const block of content) last.content.push(block);
    } else {
      out.push({ role, content });
    }
  }
  for (const msg of out) if (msg.role === 'user') toolResultsFirst(msg.content);
  return out;
}

/**
 * A final assistant message is a prefill, and Anthropic rejects one that ends
 * in whitespace ("Sure: "): the trailing whitespace goes, and the block or
 * message with it if nothing else is left.
 */
function trimPrefill(messages: WireMessage[]): void {
  const last = messages[messages.length - 1];
  if (last === undefined || last.role !== 'assistant') return;
  const block = last.content[last.content.length - 1];
  if (block === undefined || block.type !== 'text' || typeof block.text !== 'string') return;
  const text = block.text.trimEnd();
  if (text.length > 0) {
    if (text.length !== block.text.length) last.content[last.content.length - 1] = { ...block, text };
    return;
  }
  last.content.pop();
  if (last.content.length === 0) messages.pop();
}

/** Parts Anthropic rejects: empty text, and thinking it cannot verify (no signature). */
function keep(part: Part): boolean {
  if (part.type === 'text') return part.text.length > 0;
  if (part.type === 'thinking') return part.signature !== undefined && part.signature.length > 0;
  return true;
}

function systemText(content: Part[]): string {
  let text = '';
  for (const part of content) {
    if (part.type !== 'text' || part.text.length === 0) continue;
    text = text.length === 0 ? part.text : `${text}\n\n${part.text}`;
  }
  return text;
}

/**
 * Anthropic wants a user message's tool_result blocks before any other block;
 * merging (a `<system>` note, an OpenAI user message after tool messages) can
 * break that. A stable partition restores it.
 */
function toolResultsFirst(content: JsonObject[]): void {
  let seenOther = false;
  let needed = false;
  for (const block of content) {
    if (block.type !== 'tool_result') seenOther = true;
    else if (seenOther) {
      needed = true;
      break;
    }
  }
  if (!needed) return;
  const results = content.filter((b) => b.type === 'tool_result');
  const others = content.filter((b) => b.type !== 'tool_result');
  content.length = 0;
  for (const b of results) content.push(b);
  for (const b of others) content.push(b);
}

/**
 * With thinking enabled, the first assistant message of the current turn
 * (after the last user message that is not only a tool loop step) must start
 * with a thinking block when the turn uses tools.
 */
export function turnLacksThinking(messages: WireMessage[]): boolean {
  let start = 0;
  for (let i = messages.length - 1; i >= 0; i--) {
    const msg = messages[i]!;
    if (msg.role === 'user' && !msg.content.some((b) => b.type === 'tool_result')) {
      start = i + 1;
      break;
    }
  }
  let first: WireMessage | undefined;
  let usesTools = false;
  for (let i = start; i < messages.length; i++) {
    const msg = messages[i]!;
    if (msg.role !== 'assistant') continue;
    first ??= msg;
    if (msg.content.some((b) => b.type === 'tool_use')) usesTools = true;
  }
  if (first === undefined || !usesTools) return false;
  const head = first.content[0]?.type;
  return head !== 'thinking' && head !== 'redacted_thinking';
}

interface ThinkingPlan {
  config?: JsonObject;
  budget?: number;
  effort?: string;
}

function encodeThinking(reasoning: Reasoning | undefined): ThinkingPlan {
  if (reasoning === undefined) return {};
  const { mode, budgetTokens, effort } = reasoning;
  // `minimal` is OpenAI-only; Anthropic's efforts are low|medium|high|max.
  const wireEffort = effort === undefined || effort === 'minimal' ? undefined : effort;
  if (mode === 'enabled' && budgetTokens === undefined) {
    // Effort only (an OpenAI client's reasoning_effort): becomes a budget,
    // which every thinking model accepts, unlike output_config.effort.
    if (effort === 'minimal') return { config: { type: 'disabled' } };
    const budget = budgetByEffort[wireEffort ?? 'medium'];
    return { config: { type: 'enabled', budget_tokens: budget }, budget };
  }
  const plan: ThinkingPlan = {};
  if (wireEffort !== undefined) plan.effort = wireEffort;
  if (mode === 'enabled') {
    const budget = Math.max(MIN_BUDGET, budgetTokens ?? MIN_BUDGET);
    plan.config = { type: 'enabled', budget_tokens: budget };
    plan.budget = budget;
  } else {
    plan.config = { type: mode };
  }
  return plan;
}

function encodeTool(tool: Tool): JsonObject {
  // Server tools go back exactly as the client sent them.
  if (tool.kind === 'server') return tool.raw;
  // `strict` is not sent: Anthropic accepts it only with a beta header the
  // gateway cannot assume, and an unknown field is a 400.
  const out: JsonObject = { name: tool.name, input_schema: tool.inputSchema };
  if (tool.description !== undefined) out.description = tool.description;
  if (tool.cacheControl) out.cache_control = encodeCacheControl(tool.cacheControl);
  return out;
}

function encodeToolChoice(choice: ToolChoice | undefined, parallel: boolean | undefined): JsonObject | undefined {
  const disable = parallel === false;
  if (choice === undefined) return disable ? { type: 'auto', disable_parallel_tool_use: true } : undefined;
  if (choice.type === 'none') return { type: 'none' };
  const out: JsonObject = choice.type === 'tool' ? { type: 'tool', name: choice.name } : { type: choice.type };
  if (disable) out.disable_parallel_tool_use = true;
  return out;
}

/**
 * Tool ids must match ^[a-zA-Z0-9_-]+$. Other characters become `_`; the map
 * keeps tool_use and tool_result consistent and two ids that would collide
 * after rewriting get distinct suffixes.
 */
function createToolIdMapper(): (id: string) => string {
  let byOriginal: Map<string, string> | undefined;
  let taken: Set<string> | undefined;
  return (id) => {
    byOriginal ??= new Map();
    taken ??= new Set();
    const known = byOriginal.get(id);
    if (known !== undefined) return known;
    const base = SAFE_ID.test(id) ? id : id.replace(UNSAFE_ID_CHARS, '_') || 'toolu_empty';
    let out = base;
    // Bounded: each step skips one taken name.
    for (let n = 1; taken.has(out); n++) out = `${base}_${n}`;
    byOriginal.set(id, out);
    taken.add(out);
    return out;
  };
}
