/**
 * Config sections for limits, budgets and prices (issue 4): `limits`, `pricing`.
 * Owned by the limits work; schema.ts only mounts them. README: "Limits and budgets".
 */
import { z } from 'zod';
import { bool, coerceNumber } from '../coerce.ts';

const count = () => z.preprocess(coerceNumber, z.int().min(1).max(1e12));
const usd = () => z.preprocess(coerceNumber, z.number().min(0).max(1e9));
const perMTok = () => z.preprocess(coerceNumber, z.number().min(0).max(1_000_000));

/** Limits of one key, tenant or the open principal; an absent field means no limit. Mirrors `Limits` in src/tenancy/principal.ts. */
export const limitSetSchema = z.strictObject({
  requestsPerMinute: count().optional(),
  inputTokensPerMinute: count().optional(),
  outputTokensPerMinute: count().optional(),
  concurrency: count().optional(),
  budgetDayUsd: usd().optional(),
  budgetMonthUsd: usd().optional(),
});

export const limitsSchema = z.strictObject({
  /** Applied to each limit a key does not set itself. */
  keys: limitSetSchema.optional(),
  /** Applied to each limit a tenant does not set itself. */
  tenants: limitSetSchema.optional(),
  /** Limits of the open principal: the gateway running without authentication (one person on loopback). */
  open: limitSetSchema.optional(),
  /** `auto` shares counters in Redis when `redis.url` (or REDIS_URL) is set, else keeps them in this process. */
  backend: z.enum(['auto', 'memory', 'redis']).default('auto'),
  /** Prefix of every Redis key the limits use: gateways that share limits must share it. */
  redisPrefix: z.string().min(1).max(200).default('swy:limits:'),
});

/** Prices in USD per million tokens. Cache prices default to the input price (an overestimate, never an underestimate). */
export const priceSchema = z.strictObject({
  input: perMTok(),
  output: perMTok(),
  cacheRead: perMTok().optional(),
  cacheWrite: perMTok().optional(),
});

export const pricingSchema = z.strictObject({
  /**
   * Prices by upstream model name or deployment id (`provider/model`); `*`
   * matches any run of characters (`claude-sonnet-4*`, `vllm/*`). An exact name
   * wins over a pattern, a longer pattern over a shorter one. These come before
   * a deployment's `inputCostPerMTok`/`outputCostPerMTok` and the built-in defaults.
   */
  models: z.record(z.string().min(1), priceSchema).default({}),
  /** Use the built-in default prices (src/usage/pricing.ts) for models not priced here. */
  builtins: bool().default(true),
  /** The price of a model nothing else prices; absent means such a model costs 0 (budgets do not see it). */
  fallback: priceSchema.optional(),
});

export const limitsKnownKeys: Readonly<Record<string, readonly string[]>> = {
  limits: Object.keys(limitsSchema.shape),
  'limits.keys': Object.keys(limitSetSchema.shape),
  'limits.tenants': Object.keys(limitSetSchema.shape),
  'limits.open': Object.keys(limitSetSchema.shape),
  pricing: Object.keys(pricingSchema.shape),
  'pricing.fallback': Object.keys(priceSchema.shape),
};
