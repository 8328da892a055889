/**
 * Loading: YAML → `${ENV}` interpolation → schema → cross-checks → defaults → deep freeze.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { crossCheck } from './cross-check.ts';
import type { Env } from './env.ts';
import { interpolateEnv } from './env.ts';
import type { ConfigProblem } from './problems.ts';
import { ConfigError, problemsFromIssues, sortProblems } from './problems.ts';
import type { Config } from './schema.ts';
import { configSchema } from './schema.ts';

export interface ParseOptions {
  /** Variables for `${VAR}`; defaults to process.env. */
  env?: Env;
  /** Folder that relative paths (routes.custom) are resolved against; defaults to the working directory. */
  baseDir?: string;
  /** File name shown in error messages. */
  source?: string;
  /** Where SWITCHYARD_ADMIN_KEY is read from (an admin key added to `admin.apiKeys`); defaults to `env`. */
  adminEnv?: Env;
}

/** SWITCHYARD_ADMIN_KEY opens the admin API and UI with no config edit (a container secret, a CI job). */
function withEnvAdminKey(raw: Record<string, unknown>, env: Env): Record<string, unknown> {
  const key = env.SWITCHYARD_ADMIN_KEY;
  if (!key) return raw;
  const admin = raw.admin !== null && typeof raw.admin === 'object' ? (raw.admin as Record<string, unknown>) : {};
  const configured = Array.isArray(admin.apiKeys) ? admin.apiKeys : [];
  return { ...raw, admin: { ...admin, apiKeys: configured.includes(key) ? configured : [...configured, key] } };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}

/**
 * Validates an already-parsed document (what the YAML holds) and returns the
 * frozen configuration. Throws ConfigError listing every problem.
 */
export function configFromObject(document: unknown, options: ParseOptions = {}): Config {
  const env = options.env ?? process.env;
  const baseDir = resolve(options.baseDir ?? process.cwd());
  const problems: ConfigProblem[] = [];
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    problems.push({ path: '(root)', message: 'must be a mapping with server, providers, models and routes' });
    throw new ConfigError(problems, options.source);
  }
  const failedPaths = new Set<string>();
  const raw = withEnvAdminKey(interpolateEnv(document, env, problems, failedPaths) as Record<string, unknown>, options.adminEnv ?? env);
  const result = configSchema.safeParse(raw, { reportInput: true });
  if (!result.success) {
    // A value whose variable is missing was already reported by name.
    for (const problem of problemsFromIssues(result.error.issues)) {
      if (!failedPaths.has(problem.path)) problems.push(problem);
    }
  }
  crossCheck(raw, baseDir, problems);
  if (problems.length > 0 || !result.success) throw new ConfigError(sortProblems(problems), options.source);
  const config = result.data;
  if (config.routes.custom !== undefined) config.routes.custom = resolve(baseDir, config.routes.custom);
  return deepFreeze(config);
}

/** Parses, interpolates and validates a YAML configuration. Throws ConfigError. */
export function parseConfig(text: string, options: ParseOptions = {}): Config {
  // uniqueKeys (the default) makes a repeated key an error, not a silent override.
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((error) => {
      const position = error.linePos?.[0];
      const where = position === undefined ? '(yaml)' : `(yaml) line ${position.line}, column ${position.col}`;
      // Drop the position and the code frame: the quoted line may hold a secret.
      return { path: where, message: error.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '').split('\n')[0] ?? '' };
    });
    throw new ConfigError(problems, options.source);
  }
  // maxAliasCount bounds alias expansion ("billion laughs").
  return configFromObject(doc.toJS({ maxAliasCount: 1000 }), options);
}

/** Reads and parses a configuration file; relative paths in it are resolved against its folder. */
export async function loadConfigFile(file: string, env?: Env): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new ConfigError([{ path: '(file)', message: `cannot read ${file}: ${code}` }], file);
  }
  return parseConfig(text, { env: env ?? process.env, baseDir: dirname(resolve(file)), source: file });
}

/**
 * The configuration used on a first run with no config file and no provider
 * keys: two providers on the in-process mock at `mockUrl` (its root, e.g.
 * `http://127.0.0.1:9100`), one per protocol.
 */
export function builtinExampleConfig(mockUrl: string): Config {
  const root = mockUrl.replace(/\/+$/, '').replace(/\/v1$/, '');
  return configFromObject(
    {
      providers: [
        // The mock reasons when asked (reasoning_effort), so thinking works through translation too.
        { name: 'mock', protocol: 'openai', baseUrl: `${root}/v1`, models: ['mock-model'], quirks: { reasoningEffort: true } },
        { name: 'mock-anthropic', protocol: 'anthropic', baseUrl: root, models: ['mock-claude'] },
      ],
      models: [
        { name: 'mock-model', deployments: [{ provider: 'mock', model: 'mock-model' }] },
        { name: 'mock-claude', deployments: [{ provider: 'mock-anthropic', model: 'mock-claude' }] },
      ],
      routes: { default: 'mock-claude', background: 'mock-model' },
    },
    { env: {}, adminEnv: process.env, source: '(built-in example)' },
  );
}

/** The model name a deployment uses to mean "the model the client asked for". */
export const REQUESTED_MODEL = '*';

/**
 * With no config file but provider keys in the environment, route to those
 * providers and keep the model names clients ask for (Claude Code sends its
 * own). Anthropic wins the default route when both keys are set; the other
 * provider stays reachable as `openai,MODEL` or `anthropic,MODEL`.
 * Returns undefined when no key is set.
 */
export function configFromEnvironment(env: Env): Config | undefined {
  const anthropicKey = env.ANTHROPIC_API_KEY;
  const openaiKey = env.OPENAI_API_KEY;
  if (!anthropicKey && !openaiKey) return undefined;
  const providers: Array<Record<string, unknown>> = [];
  const models: Array<Record<string, unknown>> = [];
  if (anthropicKey) {
    providers.push({ name: 'anthropic', protocol: 'anthropic', baseUrl: env.ANTHROPIC_BASE_URL || 'https://api.anthropic.com', apiKey: anthropicKey });
    models.push({ name: 'anthropic', deployments: [{ provider: 'anthropic', model: REQUESTED_MODEL }] });
  }
  if (openaiKey) {
    providers.push({ name: 'openai', protocol: 'openai', preset: 'openai', baseUrl: env.OPENAI_BASE_URL || 'https://api.openai.com/v1', apiKey: openaiKey });
    models.push({ name: 'openai', deployments: [{ provider: 'openai', model: REQUESTED_MODEL }] });
  }
  return configFromObject(
    { providers, models, routes: { default: anthropicKey ? 'anthropic' : 'openai' } },
    { env: {}, adminEnv: env, source: '(provider keys from the environment)' },
  );
}
