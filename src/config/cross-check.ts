/**
 * Checks that span several entries: names are unique, deployments name known
 * providers, routes name known models. They run on the raw (interpolated)
 * document, tolerating wrong shapes, so they are reported together with the
 * schema's problems instead of after the user fixed those.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ConfigProblem } from './problems.ts';
import { routeNames } from './schema.ts';

type Entry = Record<string, unknown>;

function isEntry(value: unknown): value is Entry {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function entries(value: unknown): Array<[number, Entry]> {
  if (!Array.isArray(value)) return [];
  const out: Array<[number, Entry]> = [];
  value.forEach((item: unknown, index) => {
    if (isEntry(item)) out.push([index, item]);
  });
  return out;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function list(names: Iterable<string>): string {
  const all = [...names];
  return all.length === 0 ? 'none' : all.map((n) => `"${n}"`).join(', ');
}

function checkProviders(raw: unknown, problems: ConfigProblem[]): Set<string> {
  const seen = new Map<string, number>();
  for (const [i, provider] of entries(raw)) {
    const name = str(provider.name);
    if (name !== undefined) {
      const first = seen.get(name);
      if (first !== undefined) problems.push({ path: `providers.${i}.name`, message: `duplicate provider name "${name}" (also providers.${first})` });
      else seen.set(name, i);
    }
    const baseUrl = str(provider.baseUrl)?.replace(/\/+$/, '');
    if (provider.protocol === 'anthropic') {
      // The adapter appends /v1/messages; a base ending in /v1 would double it.
      if (baseUrl?.endsWith('/v1') === true) {
        problems.push({ path: `providers.${i}.baseUrl`, message: 'for protocol anthropic give the root URL without /v1 (the adapter appends /v1/messages)' });
      }
      if (provider.preset !== undefined) problems.push({ path: `providers.${i}.preset`, message: 'presets apply to protocol openai only' });
      if (provider.quirks !== undefined) problems.push({ path: `providers.${i}.quirks`, message: 'quirks apply to protocol openai only' });
    }
    if (provider.protocol === 'openai' && baseUrl?.endsWith('/chat/completions') === true) {
      problems.push({ path: `providers.${i}.baseUrl`, message: 'give the URL without /chat/completions (usually ending in /v1); the adapter appends it' });
    }
  }
  return new Set(seen.keys());
}

function checkModels(raw: unknown, providers: Set<string>, problems: ConfigProblem[]): Set<string> {
  const names = new Map<string, string>();
  const claim = (name: string, path: string): void => {
    const first = names.get(name);
    if (first !== undefined) problems.push({ path, message: `duplicate model name or alias "${name}" (also ${first})` });
    else names.set(name, path);
  };
  for (const [i, model] of entries(raw)) {
    const name = str(model.name);
    if (name !== undefined) claim(name, `models.${i}.name`);
    if (Array.isArray(model.aliases)) {
      model.aliases.forEach((alias: unknown, j) => {
        if (typeof alias === 'string' && alias.length > 0) claim(alias, `models.${i}.aliases.${j}`);
      });
    }
    for (const [j, deployment] of entries(model.deployments)) {
      const provider = str(deployment.provider);
      if (provider !== undefined && !providers.has(provider)) {
        problems.push({ path: `models.${i}.deployments.${j}.provider`, message: `unknown provider "${provider}" (configured: ${list(providers)})` });
      }
    }
  }
  return new Set(names.keys());
}

/** A route value is a configured model name or alias, or `provider,model`. */
function checkRouteTarget(value: string, path: string, providers: Set<string>, models: Set<string>, problems: ConfigProblem[]): void {
  const comma = value.indexOf(',');
  if (comma === -1) {
    if (!models.has(value)) {
      problems.push({ path, message: `unknown model "${value}" (configured: ${list(models)}; or write "provider,model")` });
    }
    return;
  }
  const provider = value.slice(0, comma);
  if (!providers.has(provider)) {
    problems.push({ path, message: `unknown provider "${provider}" in "${value}" (configured: ${list(providers)})` });
  } else if (value.slice(comma + 1).trim().length === 0) {
    problems.push({ path, message: `"${value}" names no model after the comma` });
  }
}

function checkRoutes(raw: unknown, providers: Set<string>, models: Set<string>, baseDir: string, problems: ConfigProblem[]): void {
  if (!isEntry(raw)) return;
  for (const route of routeNames) {
    const value = str(raw[route]);
    if (value !== undefined) checkRouteTarget(value, `routes.${route}`, providers, models, problems);
  }
  const custom = str(raw.custom);
  if (custom !== undefined && !existsSync(resolve(baseDir, custom))) {
    problems.push({ path: 'routes.custom', message: `file not found: ${resolve(baseDir, custom)}` });
  }
}

export function crossCheck(raw: Entry, baseDir: string, problems: ConfigProblem[]): void {
  const providers = checkProviders(raw.providers, problems);
  const models = checkModels(raw.models, providers, problems);
  checkRoutes(raw.routes, providers, models, baseDir, problems);
}
