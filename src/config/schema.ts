/**
 * The configuration schema: one zod schema gives the runtime check, the
 * defaults and the TypeScript type (CONVENTIONS.md, "Errors and configuration").
 * Objects are strict so a typo is reported instead of silently ignored.
 */
import { z } from 'zod';
import { bool, coerceNumber, int } from './coerce.ts';
import { limitsKnownKeys, limitsSchema, pricingSchema } from './sections/limits.ts';
import { metricsSchema, observabilityKnownKeys, tracingSchema, uiSchema } from './sections/observability.ts';
import { adminSchema, authSchema, redisSchema, storeSchema, tenancyKnownKeys } from './sections/tenancy.ts';
import { usageKnownKeys, usageSchema } from './sections/usage.ts';

/** Preset names of OpenAI-compatible providers (defined in src/protocols/openai/quirks.ts). */
export const providerPresetNames = [
  'openai',
  'openrouter',
  'deepseek',
  'groq',
  'together',
  'ollama',
  'vllm',
  'lmstudio',
  'generic',
] as const;

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function isHttpUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
}

function isRegExpSource(value: string): boolean {
  try {
    new RegExp(value);
    return true;
  } catch {
    return false;
  }
}

const nonEmpty = () => z.string().min(1);

/** Names used in `provider,model` references and `provider/model` ids. */
const providerName = nonEmpty().regex(/^[^,/\s]+$/, 'must not contain commas, slashes or spaces');
const modelName = nonEmpty().regex(/^[^,]+$/, 'must not contain commas (a comma means "provider,model")');

const MAX_MS = 24 * 60 * 60 * 1000;
/** `server.workers` and `--workers` above this are a typo, not a machine. */
export const MAX_WORKERS = 256;

export const serverSchema = z.strictObject({
  host: nonEmpty().default('127.0.0.1'),
  port: int(0, 65535).default(3456),
  bodyLimit: int(1, 2 ** 31).default(33_554_432),
  maxHeaderSize: int(1024, 1 << 20).default(16_384),
  maxNestingDepth: int(1, 10_000).default(128),
  requestTimeoutMs: int(0, MAX_MS).default(600_000),
  shutdownTimeoutMs: int(0, MAX_MS).default(10_000),
  /** Chat requests handled at once, gateway-wide; 0 means unlimited (README, "Concurrency limits"). */
  maxConcurrent: int(0, 1_000_000).default(0),
  /** Chat requests waiting for a slot; past this they are shed with an overloaded error. */
  maxQueue: int(0, 1_000_000).default(1000),
  /** How long a request may wait for a slot before it is shed. */
  maxQueueWaitMs: int(0, MAX_MS).default(30_000),
  /**
   * Gateway processes sharing the port (node:cluster; README, "Several worker processes");
   * `auto` is one per CPU. 1, the default, runs one process and no cluster. Read at start only.
   */
  workers: z.union([z.literal('auto'), int(1, MAX_WORKERS)], { error: `must be auto or an integer from 1 to ${MAX_WORKERS}` }).default(1),
  /**
   * Browser origins allowed to call the gateway (CORS), e.g. `["http://localhost:5173"]`, or
   * `["*"]` for any. Empty, the default: no CORS headers, so no web page the user visits
   * can spend the gateway's provider keys. Read at start only.
   */
  corsOrigins: z.array(nonEmpty().regex(/^(\*|https?:\/\/[^/\s]+)$/, 'must be "*" or an origin such as http://localhost:5173')).default([]),
});

/** Mirrors `OpenAIQuirks` in src/protocols/openai/quirks.ts; every key optional. */
export const quirksSchema = z.strictObject({
  maxTokensField: z.enum(['max_tokens', 'max_completion_tokens']).optional(),
  reasoningField: z.enum(['reasoning_content', 'reasoning']).optional(),
  sendReasoningBack: bool().optional(),
  reasoningEffort: bool().optional(),
  streamUsage: bool().optional(),
  cacheControl: bool().optional(),
  topK: bool().optional(),
  maxStopSequences: int(1, 1024).optional(),
});

export const poolSchema = z.strictObject({
  connections: int(1, 100_000).default(64),
  connectTimeoutMs: int(1, MAX_MS).default(5_000),
  headersTimeoutMs: int(0, MAX_MS).default(120_000),
  bodyTimeoutMs: int(0, MAX_MS).default(300_000),
  keepAliveTimeoutMs: int(1, MAX_MS).default(30_000),
});

export const providerSchema = z.strictObject({
  name: providerName,
  protocol: z.enum(['anthropic', 'openai']),
  // Trailing slashes are dropped: adapters append `/chat/completions` or `/v1/messages`.
  baseUrl: z
    .string()
    .refine(isHttpUrl, 'must be an http(s) URL')
    .transform((url) => url.replace(/\/+$/, '')),
  apiKey: z.string().optional(),
  /** A pool of keys, by weight: a key that gets a 429 rests alone while the others serve. */
  apiKeys: z
    .array(z.union([z.string().min(1), z.strictObject({ key: z.string().min(1), weight: z.preprocess(coerceNumber, z.number().min(0).max(1_000_000)).default(1) })]))
    .min(1)
    .optional(),
  headers: z.record(z.string(), z.string()).default({}),
  preset: z.enum(providerPresetNames).optional(),
  quirks: quirksSchema.optional(),
  models: z.array(nonEmpty()).default([]),
  pool: poolSchema.prefault({}),
  defaultMaxTokens: int(1, 10_000_000).default(4096),
});

export const deploymentSchema = z.strictObject({
  provider: nonEmpty(),
  model: nonEmpty(),
  weight: z.preprocess(coerceNumber, z.number().min(0).max(1_000_000)).default(1),
  /** The upstream model's output limit: larger `max_tokens` requests are clamped to it. */
  maxTokens: int(1, 10_000_000).optional(),
  /** Prices per million tokens, for the `cost` strategy (absent counts as 0). */
  inputCostPerMTok: z.preprocess(coerceNumber, z.number().min(0).max(1_000_000)).optional(),
  outputCostPerMTok: z.preprocess(coerceNumber, z.number().min(0).max(1_000_000)).optional(),
  /** Attempts in flight at once on this deployment; at the cap it is skipped like an open breaker. */
  maxConcurrent: int(1, 1_000_000).optional(),
  /** How much slower per output token this upstream model is than the group's `perOutputTokenMs` assumes (default 1). */
  perOutputTokenMultiplier: z.preprocess(coerceNumber, z.number().gt(0).max(1_000)).optional(),
});

/** How a model group orders its deployments for one request (src/resilience/strategies.ts). */
export const strategyNames = ['priority', 'weighted', 'round-robin', 'least-in-flight', 'latency', 'cost'] as const;
export type StrategyName = (typeof strategyNames)[number];

/** Circuit breaker overrides per model group; unset keys take the defaults in src/resilience/health.ts. */
export const breakerSchema = z.strictObject({
  consecutiveFailures: int(1, 1_000_000).optional(),
  /** A share, 0.5 for 50 %. */
  errorRate: z.preprocess(coerceNumber, z.number().gt(0).max(1)).optional(),
  windowMs: int(10, MAX_MS).optional(),
  minRequests: int(1, 1_000_000).optional(),
  cooldownMs: int(1, MAX_MS).optional(),
  halfOpenProbes: int(1, 10_000).optional(),
});

/** `firstByteMs` given as a base plus an allowance per requested output token, capped (src/resilience/timeouts.ts). */
export const adaptiveFirstByteSchema = z.strictObject({
  baseMs: int(1, MAX_MS),
  perOutputTokenMs: z.preprocess(coerceNumber, z.number().min(0).max(60_000)).default(0),
  maxMs: int(1, MAX_MS),
});

/**
 * First-byte timeouts tightened by each deployment's learned first-byte latency:
 * `min(configured, max(floorMs, factor × learned percentile))` once it has `minSamples`.
 */
export const learnedTimeoutSchema = z.strictObject({
  percentile: z.preprocess(coerceNumber, z.number().gt(0).lt(1)).default(0.99),
  factor: z.preprocess(coerceNumber, z.number().min(1).max(1_000)).default(3),
  floorMs: int(1, MAX_MS).default(1_000),
  minSamples: int(1, 100_000).default(50),
});

/** Timeouts per attempt and per request; unset keys take the defaults in src/resilience/timeouts.ts. */
export const timeoutsSchema = z.strictObject({
  firstByteMs: z.union([int(1, MAX_MS), adaptiveFirstByteSchema]).optional(),
  idleMs: int(1, MAX_MS).optional(),
  totalMs: int(1, MAX_MS).optional(),
  learned: learnedTimeoutSchema.optional(),
});

/**
 * Hedging (src/resilience/hedge.ts): an attempt with no first byte after the
 * delay gets a twin on the next deployment; the first to answer wins.
 * The delay is the deployment's learned `percentile` of first-byte latency once
 * it has `minSamples`, else `delayMs`; hedges are capped at `maxShare` of the
 * group's requests (a token bucket holding at most `burst` hedges).
 */
export const hedgeSchema = z
  .strictObject({
    delayMs: int(1, MAX_MS).optional(),
    percentile: z.preprocess(coerceNumber, z.number().gt(0).lt(1)).optional(),
    minSamples: int(1, 100_000).default(20),
    maxShare: z.preprocess(coerceNumber, z.number().gt(0).max(1)).default(0.1),
    burst: int(1, 1_000_000).default(1),
  })
  .refine((h) => h.delayMs !== undefined || h.percentile !== undefined, {
    message: 'hedge needs delayMs (a fixed delay), percentile (a learned one), or both',
  });

export const modelSchema = z.strictObject({
  name: modelName,
  deployments: z.array(deploymentSchema).min(1),
  aliases: z.array(modelName).default([]),
  strategy: z.enum(strategyNames).default('priority'),
  /** Prefer one deployment per conversation prefix, so provider prompt caches keep hitting. */
  sticky: bool().default(false),
  breaker: breakerSchema.optional(),
  timeouts: timeoutsSchema.optional(),
  /** Further rounds over the whole group after every deployment failed retryably (default 1). */
  retries: int(0, 10).optional(),
  hedge: hedgeSchema.optional(),
});

/** The scenario routes whose value names a model (or `provider,model`). */
export const routeNames = ['default', 'background', 'think', 'longContext', 'webSearch', 'image'] as const;
export type RouteName = (typeof routeNames)[number];

export const routesSchema = z.strictObject({
  default: nonEmpty(),
  background: nonEmpty().optional(),
  think: nonEmpty().optional(),
  longContext: nonEmpty().optional(),
  longContextThreshold: int(1, 100_000_000).default(60_000),
  webSearch: nonEmpty().optional(),
  image: nonEmpty().optional(),
  // Matches claude-3-5-haiku-…, claude-haiku-4-5… (Claude Code's background model).
  backgroundPattern: z.string().refine(isRegExpSource, 'must be a valid regular expression').default('(^|[-_/])haiku'),
  /** Path of a custom router module; made absolute against the config file's folder. */
  custom: nonEmpty().optional(),
});

export const loggingSchema = z.strictObject({
  level: z.enum(logLevels).default('info'),
  format: z.enum(['json', 'pretty']).default('json'),
  /** Level per module (request, server, gateway, routing, tracing…), e.g. `{ request: warn }`. */
  levels: z.record(z.string().regex(/^[a-z][\w-]*$/, 'must be a module name such as request or routing'), z.enum(logLevels)).default({}),
  /** Log each chat request's body (module `request`), cut at `bodyMaxChars`. Off: bodies never reach a log line. */
  bodies: bool().default(false),
  bodyMaxChars: int(64, 1_000_000).default(2048),
});

export const configSchema = z.strictObject({
  server: serverSchema.prefault({}),
  providers: z.array(providerSchema).min(1),
  models: z.array(modelSchema).default([]),
  routes: routesSchema,
  logging: loggingSchema.prefault({}),
  // Sections owned by later features live in ./sections/, one file per area.
  store: storeSchema.prefault({}),
  redis: redisSchema.prefault({}),
  auth: authSchema.prefault({}),
  admin: adminSchema.prefault({}),
  limits: limitsSchema.prefault({}),
  pricing: pricingSchema.prefault({}),
  usage: usageSchema.prefault({}),
  metrics: metricsSchema.prefault({}),
  tracing: tracingSchema.prefault({}),
  ui: uiSchema.prefault({}),
});

/** Allowed keys per object, by path pattern (`*` stands for an array index): used for hints. */
export const knownKeys: Readonly<Record<string, readonly string[]>> = {
  '': Object.keys(configSchema.shape),
  server: Object.keys(serverSchema.shape),
  'providers.*': Object.keys(providerSchema.shape),
  'providers.*.pool': Object.keys(poolSchema.shape),
  'providers.*.quirks': Object.keys(quirksSchema.shape),
  'models.*': Object.keys(modelSchema.shape),
  'models.*.deployments.*': Object.keys(deploymentSchema.shape),
  'models.*.breaker': Object.keys(breakerSchema.shape),
  'models.*.timeouts': Object.keys(timeoutsSchema.shape),
  'models.*.timeouts.firstByteMs': Object.keys(adaptiveFirstByteSchema.shape),
  'models.*.timeouts.learned': Object.keys(learnedTimeoutSchema.shape),
  'models.*.hedge': Object.keys(hedgeSchema.shape),
  routes: Object.keys(routesSchema.shape),
  logging: Object.keys(loggingSchema.shape),
  ...tenancyKnownKeys,
  ...limitsKnownKeys,
  ...usageKnownKeys,
  ...observabilityKnownKeys,
};

/**
 * Keys other gateways use for the same thing (claude-code-router's config
 * among them), by path pattern and normalised key (lower case, no `_`/`-`):
 * say what replaces them rather than just "unknown key".
 */
export const replacedKeys: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  '': {
    router: 'use routes',
    host: 'use server.host',
    port: 'use server.port',
    log: 'use logging.level',
    loglevel: 'use logging.level',
    apikey: 'client keys are not configured here; provider keys go in providers[].apiKey',
    apitimeoutms: 'use server.requestTimeoutMs',
  },
  'providers.*': {
    apibaseurl: 'use baseUrl (the root URL for protocol anthropic, the URL ending in /v1 for openai)',
    transformer: 'use preset and quirks',
    timeout: 'use models[].timeouts (firstByteMs, idleMs, totalMs) and providers[].pool.connectTimeoutMs',
    timeoutms: 'use models[].timeouts (firstByteMs, idleMs, totalMs) and providers[].pool.connectTimeoutMs',
  },
  'models.*': {
    timeout: 'use timeouts: { firstByteMs, idleMs, totalMs }',
    timeoutms: 'use timeouts: { firstByteMs, idleMs, totalMs }',
    maxretries: 'use retries',
    numretries: 'use retries',
  },
};

type DeepReadonly<T> = T extends readonly (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** The validated, defaults-filled, deeply frozen configuration. */
export type Config = DeepReadonly<z.output<typeof configSchema>>;
export type ServerConfig = Config['server'];
export type ProviderConfig = Config['providers'][number];
export type ModelConfig = Config['models'][number];
export type DeploymentConfig = ModelConfig['deployments'][number];
export type BreakerConfig = NonNullable<ModelConfig['breaker']>;
export type TimeoutsConfig = NonNullable<ModelConfig['timeouts']>;
export type HedgeConfig = NonNullable<ModelConfig['hedge']>;
export type RoutesConfig = Config['routes'];
export type LoggingConfig = Config['logging'];
export type QuirksConfig = NonNullable<ProviderConfig['quirks']>;
