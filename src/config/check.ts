/**
 * `switchyard config check FILE`: validates a configuration (and loads its
 * custom router module, if any) without starting anything. Exit code 0 when
 * valid, 1 otherwise.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { buildRouter } from '../routing/index.ts';
import { loadCustomRouter } from '../routing/custom.ts';
import { loadConfigFile } from './load.ts';
import { ConfigError } from './problems.ts';
import type { Env } from './env.ts';
import type { Config } from './schema.ts';
import { routeNames } from './schema.ts';

export interface CheckIo {
  out(line: string): void;
  err(line: string): void;
  env?: Env;
}

const defaultIo: CheckIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

const USAGE = 'usage: switchyard config check FILE';

function summary(config: Config): string {
  const routes = routeNames
    .filter((name) => config.routes[name] !== undefined)
    .map((name) => `${name}=${config.routes[name] ?? ''}`);
  if (config.routes.longContext !== undefined) routes.push(`longContextThreshold=${config.routes.longContextThreshold}`);
  if (config.routes.custom !== undefined) routes.push(`custom=${config.routes.custom}`);
  const count = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  return `ok: ${count(config.providers.length, 'provider')}, ${count(config.models.length, 'model')}, routes ${routes.join(', ')}`;
}

/**
 * `loadConfigFile`, and when the file has other problems too, the custom router
 * module's own (it is imported only once the rest is valid): every problem at once.
 */
export async function loadConfigFileChecked(file: string, env?: Env): Promise<Config> {
  try {
    return await loadConfigFile(file, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const custom = await customRouterProblem(file);
    throw custom === undefined ? error : new ConfigError([...error.problems, ...custom.problems], file);
  }
}

/** The custom router's load error, for a file whose routes.custom is a plain path; undefined if it loads or cannot be told. */
async function customRouterProblem(file: string): Promise<ConfigError | undefined> {
  let custom: unknown;
  try {
    custom = (parseYaml(await readFile(file, 'utf8')) as { routes?: { custom?: unknown } } | null)?.routes?.custom;
  } catch {
    return undefined;
  }
  if (typeof custom !== 'string' || custom.includes('${')) return undefined;
  try {
    await loadCustomRouter(resolve(dirname(resolve(file)), custom));
    return undefined;
  } catch (error) {
    return error instanceof ConfigError && !error.problems.some((p) => p.message.includes('ENOENT')) ? error : undefined;
  }
}

export async function runConfigCheck(argv: string[], io: CheckIo = defaultIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(USAGE);
    return 0;
  }
  const files = argv.filter((arg) => !arg.startsWith('-'));
  const file = files[0];
  if (file === undefined || files.length > 1) {
    io.err(USAGE);
    return 1;
  }
  try {
    const config = await loadConfigFileChecked(file, io.env);
    await buildRouter(config);
    io.out(summary(config));
    return 0;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // Rebuilt so problems found after loading (the custom router) name the file too.
    io.err(new ConfigError(error.problems, file).message);
    return 1;
  }
}
