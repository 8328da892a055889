/**
 * The one internal model every protocol decodes into and encodes from
 * (ARCHITECTURE.md, "One internal model, one codec per protocol").
 *
 * It follows the Anthropic Messages shape, in camelCase, because that shape is
 * the richer of the two: content blocks with indexes, thinking with signatures,
 * cache markers. OpenAI's shape maps into it without loss of anything that has
 * an equivalent.
 */

export type ProtocolName = 'anthropic' | 'openai';

export interface CacheControl {
  type: 'ephemeral';
  ttl?: string;
}

export interface TextPart {
  type: 'text';
  text: string;
  cacheControl?: CacheControl;
}

export type ImageSource =
  | { type: 'base64'; mediaType: string; data: string }
  | { type: 'url'; url: string };

export interface ImagePart {
  type: 'image';
  source: ImageSource;
  /** OpenAI's `image_url.detail`; Anthropic has no equivalent. */
  detail?: string;
  cacheControl?: CacheControl;
}

export interface ToolCallPart {
  type: 'tool_call';
  id: string;
  name: string;
  /** The parsed arguments object. */
  input: Record<string, unknown>;
  cacheControl?: CacheControl;
}

export interface ToolResultPart {
  type: 'tool_result';
  toolCallId: string;
  content: Array<TextPart | ImagePart>;
  isError?: boolean;
  cacheControl?: CacheControl;
}

export interface ThinkingPart {
  type: 'thinking';
  text: string;
  /** Anthropic's signature; must be sent back unchanged on the next turn. */
  signature?: string;
}

export interface RedactedThinkingPart {
  type: 'redacted_thinking';
  data: string;
}

export type Part =
  | TextPart
  | ImagePart
  | ToolCallPart
  | ToolResultPart
  | ThinkingPart
  | RedactedThinkingPart;

/** A part an assistant can produce in a response. */
export type OutputPart = TextPart | ToolCallPart | ThinkingPart | RedactedThinkingPart;

export interface Message {
  /** `system` appears when a client puts system instructions mid-conversation. */
  role: 'user' | 'assistant' | 'system';
  content: Part[];
}

export interface FunctionTool {
  kind: 'function';
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  strict?: boolean;
  cacheControl?: CacheControl;
}

/** A provider-hosted tool (Anthropic `web_search_20250305`, …), kept verbatim. */
export interface ServerTool {
  kind: 'server';
  /** The wire `type`, e.g. `web_search_20250305`. */
  type: string;
  name: string;
  raw: Record<string, unknown>;
}

export type Tool = FunctionTool | ServerTool;

export type ToolChoice =
  | { type: 'auto' }
  | { type: 'any' }
  | { type: 'none' }
  | { type: 'tool'; name: string };

export type ReasoningEffort = 'minimal' | 'low' | 'medium' | 'high' | 'max';

export interface Reasoning {
  /** `adaptive` lets the model decide how much to think (Anthropic). */
  mode: 'enabled' | 'adaptive' | 'disabled';
  budgetTokens?: number;
  effort?: ReasoningEffort;
}

export interface ChatRequest {
  model: string;
  system: TextPart[];
  messages: Message[];
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  stopSequences?: string[];
  stream: boolean;
  tools?: Tool[];
  toolChoice?: ToolChoice;
  /** false when the client asked for at most one tool call per turn. */
  parallelToolCalls?: boolean;
  reasoning?: Reasoning;
  /** End-user id: Anthropic `metadata.user_id`, OpenAI `user`. */
  user?: string;
  /** OpenAI `stream_options.include_usage`. */
  includeUsage?: boolean;
  /**
   * The client used OpenAI's legacy `functions` / `function_call` instead of
   * `tools`: its answer carries `function_call` (one call), as it expects.
   */
  legacyFunctions?: boolean;
}

export type StopReason =
  | 'end_turn'
  | 'max_tokens'
  | 'tool_use'
  | 'stop_sequence'
  | 'pause_turn'
  | 'refusal';

/**
 * Token usage with Anthropic semantics: `inputTokens` excludes tokens read
 * from or written to the prompt cache (OpenAI's `prompt_tokens` includes them).
 */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  reasoningTokens?: number;
}

export interface ChatResponse {
  id: string;
  model: string;
  content: OutputPart[];
  stopReason: StopReason | null;
  stopSequence?: string | null;
  usage: Usage;
}

export type BlockStart =
  | { type: 'text' }
  | { type: 'thinking' }
  | { type: 'redacted_thinking'; data: string }
  | { type: 'tool_call'; id: string; name: string };

export type BlockDelta =
  | { type: 'text'; text: string }
  | { type: 'thinking'; text: string }
  | { type: 'signature'; signature: string }
  | { type: 'tool_args'; json: string };

/** Neutral error kinds; each protocol maps them to its own error type. */
export type ErrorKind =
  | 'invalid_request'
  | 'authentication'
  | 'permission'
  | 'not_found'
  | 'request_too_large'
  | 'rate_limit'
  | 'api_error'
  | 'overloaded'
  | 'timeout';

export interface ErrorBody {
  kind: ErrorKind;
  message: string;
}

export type StreamEvent =
  | { type: 'message_start'; id: string; model: string; usage?: Partial<Usage> }
  | { type: 'block_start'; index: number; block: BlockStart }
  | { type: 'block_delta'; index: number; delta: BlockDelta }
  | { type: 'block_stop'; index: number }
  | {
      type: 'message_delta';
      stopReason: StopReason | null;
      stopSequence?: string | null;
      usage?: Partial<Usage>;
    }
  | { type: 'message_stop' }
  | { type: 'ping' }
  | { type: 'error'; error: ErrorBody };
