/**
 * What a request cost, in USD: token usage (Anthropic semantics, src/model/types.ts)
 * times a price per million tokens, looked up by deployment. Prices come from
 * `pricing.models` in the config, then a deployment's `inputCostPerMTok` /
 * `outputCostPerMTok`, then the built-in defaults below, then `pricing.fallback`.
 *
 * @example
 * const prices = priceTableFromConfig(config);
 * prices.costOf({ inputTokens: 1000, outputTokens: 500 }, 'claude/claude-sonnet-4-5'); // 0.0105
 */
import type { Usage } from '../model/types.ts';

/** USD per million tokens. */
export interface Price {
  readonly input: number;
  readonly output: number;
  /** Tokens read from the prompt cache. */
  readonly cacheRead: number;
  /** Tokens written to the prompt cache. */
  readonly cacheWrite: number;
}

/** A price as written in config or the defaults: cache prices may be left out and then cost as much as input. */
export interface PriceSpec {
  readonly input: number;
  readonly output: number;
  readonly cacheRead?: number;
  readonly cacheWrite?: number;
}

const PER_TOKEN = 1 / 1_000_000;

/**
 * The cost of one request's usage at one price. `inputTokens` excludes cached
 * tokens (Anthropic semantics), so each kind is charged once at its own price.
 * Reasoning tokens are part of `outputTokens` and are not charged again.
 */
export function costOf(usage: Readonly<Usage>, price: Price): number {
  return (
    (usage.inputTokens * price.input +
      usage.outputTokens * price.output +
      (usage.cacheReadTokens ?? 0) * price.cacheRead +
      (usage.cacheWriteTokens ?? 0) * price.cacheWrite) *
    PER_TOKEN
  );
}

export function completePrice(spec: PriceSpec): Price {
  return Object.freeze({
    input: spec.input,
    output: spec.output,
    cacheRead: spec.cacheRead ?? spec.input,
    cacheWrite: spec.cacheWrite ?? spec.input,
  });
}

/** Anthropic: a 5-minute cache write costs 1.25× input, a cache read 0.1×. */
function anthropic(input: number, output: number): PriceSpec {
  return { input, output, cacheRead: round(input * 0.1), cacheWrite: round(input * 1.25) };
}

/** OpenAI and DeepSeek: writing the cache is free (charged as input), reading it is discounted. */
function cached(input: number, output: number, cacheRead: number): PriceSpec {
  return { input, output, cacheRead, cacheWrite: input };
}

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

/**
 * Built-in DEFAULT prices in USD per million tokens, as the providers listed
 * them in late 2025. They are defaults to override: providers change prices,
 * and resellers (OpenRouter, Bedrock, Azure) charge their own — set
 * `pricing.models` for what you actually pay. Patterns match the upstream
 * model name, with or without a vendor prefix (`anthropic/claude-sonnet-4.5`)
 * and with dots read as dashes.
 */
export const BUILTIN_PRICES: Readonly<Record<string, PriceSpec>> = Object.freeze({
  // Anthropic Claude
  'claude-opus-4-5*': anthropic(5, 25),
  'claude-opus-4*': anthropic(15, 75), // opus 4 and 4.1
  'claude-3-opus*': anthropic(15, 75),
  'claude-sonnet-4*': anthropic(3, 15), // sonnet 4 and 4.5 (up to 200k input)
  'claude-3-7-sonnet*': anthropic(3, 15),
  'claude-3-5-sonnet*': anthropic(3, 15),
  'claude-haiku-4*': anthropic(1, 5),
  'claude-3-5-haiku*': anthropic(0.8, 4),
  'claude-3-haiku*': anthropic(0.25, 1.25),
  // OpenAI
  'gpt-5*': cached(1.25, 10, 0.125),
  'gpt-5-mini*': cached(0.25, 2, 0.025),
  'gpt-5-nano*': cached(0.05, 0.4, 0.005),
  'gpt-4.1*': cached(2, 8, 0.5),
  'gpt-4.1-mini*': cached(0.4, 1.6, 0.1),
  'gpt-4.1-nano*': cached(0.1, 0.4, 0.025),
  'gpt-4o*': cached(2.5, 10, 1.25),
  'gpt-4o-mini*': cached(0.15, 0.6, 0.075),
  'o1*': cached(15, 60, 7.5),
  'o1-mini*': cached(1.1, 4.4, 0.55),
  'o3*': cached(2, 8, 0.5),
  'o3-mini*': cached(1.1, 4.4, 0.55),
  'o4-mini*': cached(1.1, 4.4, 0.275),
  // DeepSeek (V3.2: one price for chat and reasoner)
  'deepseek-chat*': cached(0.28, 0.42, 0.028),
  'deepseek-reasoner*': cached(0.28, 0.42, 0.028),
});

interface Pattern {
  readonly exact: string | undefined;
  readonly regex: RegExp | undefined;
  /** Characters that are not `*`: the more, the more specific. */
  readonly weight: number;
  readonly price: Price;
}

function compile(entries: Readonly<Record<string, PriceSpec>>, normalise: (s: string) => string): Pattern[] {
  return Object.entries(entries).map(([key, spec]) => {
    const pattern = normalise(key);
    const price = completePrice(spec);
    if (!pattern.includes('*')) return { exact: pattern, regex: undefined, weight: Infinity, price };
    const source = pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*');
    return { exact: undefined, regex: new RegExp(`^${source}$`), weight: pattern.replaceAll('*', '').length, price };
  });
}

function best(patterns: readonly Pattern[], names: readonly string[]): Price | undefined {
  let found: Pattern | undefined;
  for (const name of names) {
    for (const p of patterns) {
      if (found !== undefined && p.weight <= found.weight) continue;
      if (p.exact !== undefined ? p.exact === name : p.regex!.test(name)) found = p;
    }
  }
  return found?.price;
}

const lower = (s: string): string => s.toLowerCase();
/** `anthropic/claude-sonnet-4.5` → `claude-sonnet-4-5`, for the built-ins only (they use dashes). */
const builtinName = (s: string): string => s.toLowerCase().replaceAll('.', '-');

export interface PriceTableOptions {
  /** `pricing.models`: by upstream model name or `provider/model`, `*` as a wildcard. */
  readonly models?: Readonly<Record<string, PriceSpec>>;
  /** Prices declared on deployments, by deployment id (`provider/model`). */
  readonly deployments?: Readonly<Record<string, PriceSpec>>;
  /** Use BUILTIN_PRICES (default true). */
  readonly builtins?: boolean;
  /** For a model nothing else prices. */
  readonly fallback?: PriceSpec;
}

/** Prices by deployment id, looked up once per id and then cached (the set of deployments is small). */
export class PriceTable {
  readonly #configured: Pattern[];
  readonly #deployments: Map<string, Price>;
  readonly #builtins: Pattern[];
  readonly #fallback: Price | undefined;
  readonly #cache = new Map<string, Price | null>();

  constructor(options: PriceTableOptions = {}) {
    this.#configured = compile(options.models ?? {}, lower);
    this.#deployments = new Map(Object.entries(options.deployments ?? {}).map(([id, spec]) => [id.toLowerCase(), completePrice(spec)]));
    this.#builtins = options.builtins === false ? [] : compile(BUILTIN_PRICES, builtinName);
    this.#fallback = options.fallback === undefined ? undefined : completePrice(options.fallback);
  }

  /**
   * The price of a deployment (`provider/model`, as in `summary.deployment`)
   * or of a bare model name; undefined when nothing prices it.
   */
  priceOf(deploymentOrModel: string): Price | undefined {
    let price = this.#cache.get(deploymentOrModel);
    if (price === undefined) {
      price = this.#lookup(deploymentOrModel) ?? null;
      if (this.#cache.size > 10_000) this.#cache.clear();
      this.#cache.set(deploymentOrModel, price);
    }
    return price ?? undefined;
  }

  /** Whether a deployment has a price of its own (not the fallback). */
  isPriced(deploymentOrModel: string): boolean {
    const price = this.priceOf(deploymentOrModel);
    return price !== undefined && price !== this.#fallback;
  }

  /** The cost in USD of one request's usage on a deployment; 0 when nothing prices it. */
  costOf(usage: Readonly<Usage>, deploymentOrModel: string): number {
    const price = this.priceOf(deploymentOrModel);
    return price === undefined ? 0 : costOf(usage, price);
  }

  #lookup(id: string): Price | undefined {
    const full = id.toLowerCase();
    // Provider names hold no slash; model names may (`anthropic/claude-sonnet-4.5` on OpenRouter).
    const slash = full.indexOf('/');
    const model = slash === -1 ? full : full.slice(slash + 1);
    const base = model.slice(model.lastIndexOf('/') + 1);
    const names = [...new Set([full, model, base])];
    return (
      best(this.#configured, names) ??
      this.#deployments.get(full) ??
      best(this.#builtins, [...new Set(names.map(builtinName))]) ??
      this.#fallback
    );
  }
}

/**
 * The id to price a request by: a deployment whose model is `*` sends the model
 * the client asked for (`anthropic/*` asked for `claude-haiku-4-5` is priced as
 * `anthropic/claude-haiku-4-5`).
 */
export function pricedDeployment(deploymentId: string, requestedModel: string | undefined): string {
  return deploymentId.endsWith('/*') && requestedModel !== undefined ? deploymentId.slice(0, -1) + requestedModel : deploymentId;
}

/** The deployment-level prices and `pricing` section of a config. */
export interface PricingConfigLike {
  readonly pricing: {
    readonly models: Readonly<Record<string, PriceSpec>>;
    readonly builtins: boolean;
    readonly fallback?: PriceSpec | undefined;
  };
  readonly models: ReadonlyArray<{
    readonly deployments: ReadonlyArray<{ readonly provider: string; readonly model: string; readonly inputCostPerMTok?: number | undefined; readonly outputCostPerMTok?: number | undefined }>;
  }>;
}

export function priceTableFromConfig(config: PricingConfigLike): PriceTable {
  const deployments: Record<string, PriceSpec> = {};
  for (const model of config.models) {
    for (const d of model.deployments) {
      if (d.inputCostPerMTok === undefined && d.outputCostPerMTok === undefined) continue;
      deployments[`${d.provider}/${d.model}`] ??= { input: d.inputCostPerMTok ?? 0, output: d.outputCostPerMTok ?? 0 };
    }
  }
  return new PriceTable({
    models: config.pricing.models,
    deployments,
    builtins: config.pricing.builtins,
    ...(config.pricing.fallback === undefined ? {} : { fallback: config.pricing.fallback }),
  });
}
