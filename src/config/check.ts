/**
 * `switchyard config check FILE`: validates a configuration (and loads its
 * custom router module, if any) without starting anything. Exit code 0 when
 * valid, 1 otherwise.
 */
import { buildRouter } from '../routing/index.ts';
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
    const config = await loadConfigFile(file, io.env);
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
