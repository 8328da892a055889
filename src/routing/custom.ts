/**
 * The custom router module (`routes.custom`): a JS or TS file whose default
 * export picks a model for requests that no configured name matches.
 *
 * @example
 * // routers/by-size.ts
 * export default (req, ctx) => (ctx.tokenCount() > 20000 ? 'big-model' : undefined);
 */
import { stat } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../config/index.ts';
import type { Config } from '../config/index.ts';
import type { ChatRequest } from '../model/types.ts';

export interface CustomRouterContext {
  readonly config: Config;
  /** The model the client asked for. */
  readonly model: string;
  /** Input tokens of the request; counted on first call only. */
  tokenCount(): number;
}

/** Returns a model name, `provider,model`, or nothing to let the built-in rules decide. */
export type CustomRouter = (
  req: ChatRequest,
  ctx: CustomRouterContext,
) => string | undefined | null | Promise<string | undefined | null>;

/**
 * Imports the module once per config version. The file's mtime goes into the
 * URL so a reload after editing the module gets the new code (ESM caches by URL).
 */
export async function loadCustomRouter(file: string): Promise<CustomRouter> {
  let url: string;
  let loaded: unknown;
  try {
    const { mtimeMs } = await stat(file);
    url = `${pathToFileURL(file).href}?v=${mtimeMs}`;
    loaded = await import(url);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new ConfigError([{ path: 'routes.custom', message: `cannot load ${file}: ${reason}` }]);
  }
  const fn = (loaded as { default?: unknown }).default;
  if (typeof fn !== 'function') {
    throw new ConfigError([{ path: 'routes.custom', message: `${file} must have a default export that is a function` }]);
  }
  return fn as CustomRouter;
}
