/**
 * The OpenAI-compatible adapter: OpenAI, OpenRouter, DeepSeek, Groq, Together,
 * Ollama, vLLM, LM Studio differ only in base URL, headers and quirks, which
 * are declared as data in the presets.
 */
import { encodeOpenAIRequest } from '../protocols/openai/request.ts';
import { defaultOpenAIQuirks, openAIPresets, type OpenAIQuirks } from '../protocols/openai/quirks.ts';
import { joinPath, keyPoolFor, type PreparedProvider, type ProviderSpec } from './adapter.ts';

function presetFor(name: string | undefined): (typeof openAIPresets)[keyof typeof openAIPresets] | undefined {
  if (name === undefined) return undefined;
  return (openAIPresets as Record<string, (typeof openAIPresets)[keyof typeof openAIPresets]>)[name];
}

export function prepareOpenAIProvider(spec: ProviderSpec): PreparedProvider {
  const url = new URL(spec.baseUrl);
  const preset = presetFor(spec.preset);
  const quirks: OpenAIQuirks = Object.freeze({
    ...defaultOpenAIQuirks,
    ...preset?.quirks,
    ...(spec.quirks as Partial<OpenAIQuirks> | undefined),
  });
  const staticHeaders: Record<string, string> = {
    'content-type': 'application/json',
    ...preset?.headers,
    ...spec.headers,
  };
  const keyPool = keyPoolFor(spec);
  if (spec.apiKey && keyPool === undefined) staticHeaders.authorization = `Bearer ${spec.apiKey}`;
  const prepared: PreparedProvider = {
    name: spec.name,
    protocol: 'openai' as const,
    origin: url.origin,
    chatPath: joinPath(url.pathname, '/chat/completions'),
    warmPath: url.pathname,
    pool: spec.pool,
    staticHeaders: Object.freeze(staticHeaders),
    forwardedClientHeaders: Object.freeze(['openai-organization', 'openai-project']),
    keyPool,
    authHeader: (key) => ['authorization', `Bearer ${key}`],
    encode: (req, upstreamModel) => encodeOpenAIRequest(req, upstreamModel, quirks),
  };
  return Object.freeze(prepared);
}
