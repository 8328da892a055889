/**
 * Differences between OpenAI-compatible providers, declared as data so the
 * codec stays one code path (CONVENTIONS.md: "OpenAI-compatible providers are a
 * few lines on a shared base").
 */

export interface OpenAIQuirks {
  maxTokensField: 'max_tokens' | 'max_completion_tokens';
  /** where the provider puts reasoning text: DeepSeek `reasoning_content`, OpenRouter `reasoning` */
  reasoningField: 'reasoning_content' | 'reasoning';
  /** send reasoning text back in assistant messages (DeepSeek requires it for tool use turns) */
  sendReasoningBack: boolean;
  /** accepts `reasoning_effort` */
  reasoningEffort: boolean;
  /** accepts stream_options.include_usage */
  streamUsage: boolean;
  /** passes Anthropic-style cache_control markers on content parts (OpenRouter to Claude) */
  cacheControl: boolean;
  /** accepts top_k */
  topK: boolean;
  /** most entries `stop` may have (OpenAI: 4); a longer list keeps its first ones rather than fail */
  maxStopSequences: number;
}

export type OpenAIPresetName =
  | 'openai'
  | 'openrouter'
  | 'deepseek'
  | 'groq'
  | 'together'
  | 'ollama'
  | 'vllm'
  | 'lmstudio'
  | 'generic';

export interface OpenAIPreset {
  baseUrl?: string;
  quirks: Readonly<OpenAIQuirks>;
  headers?: Record<string, string>;
}

/**
 * The conservative set for an unknown OpenAI-compatible server: only fields
 * every implementation we know of accepts. `stream_options.include_usage` is
 * on because the gateway needs token counts for accounting and every current
 * server accepts it; a server that rejects it gets a preset or an override.
 */
export const defaultOpenAIQuirks: Readonly<OpenAIQuirks> = Object.freeze({
  maxTokensField: 'max_tokens',
  reasoningField: 'reasoning_content',
  sendReasoningBack: false,
  reasoningEffort: false,
  streamUsage: true,
  cacheControl: false,
  topK: false,
  maxStopSequences: 4,
});

function quirks(overrides: Partial<OpenAIQuirks>): Readonly<OpenAIQuirks> {
  return Object.freeze({ ...defaultOpenAIQuirks, ...overrides });
}

export const openAIPresets: Readonly<Record<OpenAIPresetName, OpenAIPreset>> = Object.freeze({
  // `max_tokens` is deprecated and rejected by the o-series / gpt-5 models.
  openai: {
    baseUrl: 'https://api.openai.com/v1',
    quirks: quirks({ maxTokensField: 'max_completion_tokens', reasoningEffort: true }),
  },
  // OpenRouter answers with `reasoning` + `reasoning_details` and forwards
  // `cache_control` and `top_k` to the providers that understand them.
  openrouter: {
    baseUrl: 'https://openrouter.ai/api/v1',
    quirks: quirks({
      reasoningField: 'reasoning',
      sendReasoningBack: true,
      reasoningEffort: true,
      cacheControl: true,
      topK: true,
    }),
    headers: { 'X-Title': 'Switchyard' },
  },
  deepseek: {
    baseUrl: 'https://api.deepseek.com',
    quirks: quirks({ sendReasoningBack: true, maxStopSequences: 16 }),
  },
  groq: {
    baseUrl: 'https://api.groq.com/openai/v1',
    quirks: quirks({ maxTokensField: 'max_completion_tokens', reasoningField: 'reasoning', reasoningEffort: true }),
  },
  together: {
    baseUrl: 'https://api.together.xyz/v1',
    quirks: quirks({ reasoningField: 'reasoning', topK: true }),
  },
  ollama: {
    baseUrl: 'http://127.0.0.1:11434/v1',
    quirks: quirks({ reasoningField: 'reasoning', reasoningEffort: true }),
  },
  vllm: {
    baseUrl: 'http://127.0.0.1:8000/v1',
    quirks: quirks({ topK: true }),
  },
  lmstudio: {
    baseUrl: 'http://127.0.0.1:1234/v1',
    quirks: quirks({ topK: true }),
  },
  generic: { quirks: defaultOpenAIQuirks },
});

/** Defaults completed by the caller's partial overrides. */
export function resolveOpenAIQuirks(overrides: Partial<OpenAIQuirks> | undefined): Readonly<OpenAIQuirks> {
  if (overrides === undefined) return defaultOpenAIQuirks;
  const out: OpenAIQuirks = { ...defaultOpenAIQuirks };
  // Skip explicit `undefined`s so `{ topK: undefined }` keeps the default.
  for (const key of Object.keys(overrides) as Array<keyof OpenAIQuirks>) {
    const value = overrides[key];
    if (value !== undefined) (out as unknown as Record<string, unknown>)[key] = value;
  }
  return out;
}
