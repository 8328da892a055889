/**
 * The resolution table, built once per config version: model names and
 * aliases to frozen deployment lists, provider names to providers. Lookups
 * on the hot path are one Map.get and return shared frozen objects.
 */
import type { Config, ProviderConfig } from '../config/index.ts';
import { GatewayError } from '../errors.ts';

export interface Deployment {
  provider: ProviderConfig;
  /** The upstream model name. */
  model: string;
  weight: number;
  /** `provider/model`. */
  id: string;
  /** Output limit of the upstream model; `max_tokens` above it is clamped. */
  maxTokens?: number;
}

/** Every rule that can decide a request, as logged and as a key's `routes` scope names them. */
export const ROUTE_RULES = ['explicit', 'model', 'custom', 'subagent', 'longContext', 'background', 'webSearch', 'think', 'image', 'default'] as const;

export type RouteRule = (typeof ROUTE_RULES)[number];

export interface RouteDecision {
  rule: RouteRule;
  /** The configured model name, or `provider,model`. */
  modelName: string;
  deployments: readonly Deployment[];
}

export interface Target {
  modelName: string;
  deployments: readonly Deployment[];
}

function deployment(provider: ProviderConfig, model: string, weight: number, maxTokens?: number): Deployment {
  const d: Deployment = { provider, model, weight, id: `${provider.name}/${model}` };
  if (maxTokens !== undefined) d.maxTokens = maxTokens;
  return Object.freeze(d);
}

export class RoutingTable {
  readonly #providers = new Map<string, ProviderConfig>();
  /** Names and aliases → target; the canonical name is the model's `name`. */
  readonly #models = new Map<string, Target>();
  readonly #names: readonly string[];

  constructor(config: Config) {
    for (const provider of config.providers) this.#providers.set(provider.name, provider);
    const names: string[] = [];
    for (const model of config.models) {
      const deployments = Object.freeze(
        model.deployments.map((d) => {
          const provider = this.#providers.get(d.provider);
          // Config validation rejects this; a hand-built Config might not have been validated.
          if (provider === undefined) throw new Error(`model ${model.name}: unknown provider ${d.provider}`);
          return deployment(provider, d.model, d.weight, d.maxTokens);
        }),
      );
      const target = Object.freeze({ modelName: model.name, deployments });
      this.#models.set(model.name, target);
      names.push(model.name);
      for (const alias of model.aliases) this.#models.set(alias, target);
    }
    for (const model of config.models) names.push(...model.aliases);
    this.#names = Object.freeze(names);
  }

  /** Public model names followed by aliases. */
  get names(): readonly string[] {
    return this.#names;
  }

  model(name: string): Target | undefined {
    return this.#models.get(name);
  }

  /** `provider,model` → a one-deployment target, or undefined when the provider or model is missing. */
  #explicit(ref: string, comma: number): Target | undefined {
    const provider = this.#providers.get(ref.slice(0, comma));
    const model = ref.slice(comma + 1).trim();
    if (provider === undefined || model.length === 0) return undefined;
    return { modelName: ref, deployments: Object.freeze([deployment(provider, model, 1)]) };
  }

  /**
   * A client's `provider,model`. Throws SWY_ERR_UNKNOWN_PROVIDER (or
   * SWY_ERR_UNKNOWN_MODEL for an empty model part) for the client to see.
   */
  explicit(ref: string, comma: number): Target {
    const target = this.#explicit(ref, comma);
    if (target !== undefined) return target;
    const providerName = ref.slice(0, comma);
    if (!this.#providers.has(providerName)) {
      throw new GatewayError('SWY_ERR_UNKNOWN_PROVIDER', `Unknown provider "${providerName}" in model "${ref}"`);
    }
    throw new GatewayError('SWY_ERR_UNKNOWN_MODEL', `Model "${ref}" names no model after the comma`);
  }

  /** A route value, custom router result or subagent tag: model name, alias or `provider,model`. */
  resolve(ref: string): Target | undefined {
    const comma = ref.indexOf(',');
    return comma === -1 ? this.#models.get(ref) : this.#explicit(ref, comma);
  }
}
