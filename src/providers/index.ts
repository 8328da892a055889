import type { PreparedProvider, ProviderSpec } from './adapter.ts';
import { prepareAnthropicProvider } from './anthropic.ts';
import { prepareOpenAIProvider } from './openai.ts';

export type { PreparedProvider, ProviderSpec } from './adapter.ts';

const adapters = {
  anthropic: prepareAnthropicProvider,
  openai: prepareOpenAIProvider,
} as const;

export function prepareProvider(spec: ProviderSpec): PreparedProvider {
  return adapters[spec.protocol](spec);
}
