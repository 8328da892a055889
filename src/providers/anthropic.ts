/** The Anthropic Messages adapter (https://docs.anthropic.com/en/api/messages). */
import { encodeAnthropicRequest } from '../protocols/anthropic/request.ts';
import { joinPath, keyPoolFor, type PreparedProvider, type ProviderSpec } from './adapter.ts';

export const ANTHROPIC_VERSION = '2023-06-01';

export function prepareAnthropicProvider(spec: ProviderSpec): PreparedProvider {
  const url = new URL(spec.baseUrl);
  const staticHeaders: Record<string, string> = {
    'content-type': 'application/json',
    'anthropic-version': ANTHROPIC_VERSION,
    ...spec.headers,
  };
  const keyPool = keyPoolFor(spec);
  if (spec.apiKey && keyPool === undefined) staticHeaders['x-api-key'] = spec.apiKey;
  const defaultMaxTokens = spec.defaultMaxTokens;
  const prepared: PreparedProvider = {
    name: spec.name,
    protocol: 'anthropic' as const,
    origin: url.origin,
    chatPath: joinPath(url.pathname, '/v1/messages'),
    warmPath: url.pathname,
    pool: spec.pool,
    staticHeaders: Object.freeze(staticHeaders),
    // Beta flags and the API version a client asks for pass through untouched.
    forwardedClientHeaders: Object.freeze(['anthropic-version', 'anthropic-beta']),
    keyPool,
    authHeader: (key) => ['x-api-key', key],
    encode: (req, upstreamModel, maxTokensLimit) => encodeAnthropicRequest(req, upstreamModel, { defaultMaxTokens, maxTokensLimit }),
  };
  return Object.freeze(prepared);
}
