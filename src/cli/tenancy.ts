/**
 * `switchyard migrate`, `switchyard tenants …` and `switchyard keys …`: the
 * same store (and Redis, for revocations) as the gateway, found through the
 * same config file (`--config FILE`, SWITCHYARD_CONFIG, ./switchyard.yaml) or
 * DATABASE_URL / REDIS_URL, else the embedded SQLite file.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfigFile } from '../config/index.ts';
import { openDb, resolveStoreUrl, type Db } from '../store/db.ts';
import { migrate } from '../store/migrate.ts';
import { migrations } from '../store/migrations/index.ts';
import { resolveRedisUrl } from '../store/redis.ts';
import { ROUTE_RULES } from '../routing/table.ts';
import { keyView, parseExpiry, tenantView } from '../tenancy/admin-api.ts';
import { publishOnce, type Invalidation } from '../tenancy/invalidation.ts';
import type { Limits } from '../tenancy/principal.ts';
import { TenancyError, TenancyRepository } from '../tenancy/repository.ts';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

const stdio: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

const DEFAULT_CONFIG_FILES = ['switchyard.yaml', 'switchyard.yml'];

interface Target {
  storeUrl: string;
  redisUrl: string | undefined;
}

async function target(configFlag: string | undefined, env: NodeJS.ProcessEnv): Promise<Target> {
  const file = configFlag ?? (env.SWITCHYARD_CONFIG || DEFAULT_CONFIG_FILES.find((f) => existsSync(f)));
  const config = file === undefined ? undefined : await loadConfigFile(resolve(file));
  return { storeUrl: resolveStoreUrl(config?.store.url, env), redisUrl: resolveRedisUrl(config?.redis.url, env) };
}

async function openMigrated(t: Target, io: CliIo, verbose: boolean): Promise<Db> {
  const db = await openDb(t.storeUrl);
  try {
    const applied = await migrate(db, migrations, ({ migration, index, total }) => {
      if (verbose) io.err(`[${index + 1}/${total}] applying ${String(migration.id).padStart(4, '0')}-${migration.name}…`);
    });
    if (verbose) io.err(applied.length === 0 ? `${db.description}: already up to date.` : `${db.description}: ${applied.length} migration(s) applied.`);
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}

const limitOptions = {
  rpm: { type: 'string' },
  tpm: { type: 'string' },
  'output-tpm': { type: 'string' },
  concurrency: { type: 'string' },
  'budget-day': { type: 'string' },
  'budget-month': { type: 'string' },
} as const;

function number(flag: string, value: string | undefined, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new UsageError(`--${flag} must be a positive ${integer ? 'integer' : 'number'}, got '${value}'.`);
  return n;
}

function limitsFrom(values: Record<string, string | boolean | undefined>): Limits | undefined {
  const str = (k: string) => values[k] as string | undefined;
  const limits: Record<string, number | undefined> = {
    requestsPerMinute: number('rpm', str('rpm'), true),
    inputTokensPerMinute: number('tpm', str('tpm'), true),
    outputTokensPerMinute: number('output-tpm', str('output-tpm'), true),
    concurrency: number('concurrency', str('concurrency'), true),
    budgetDayUsd: number('budget-day', str('budget-day'), false),
    budgetMonthUsd: number('budget-month', str('budget-month'), false),
  };
  for (const k of Object.keys(limits)) if (limits[k] === undefined) delete limits[k];
  return Object.keys(limits).length === 0 ? undefined : (limits as Limits);
}

function list(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

class UsageError extends Error {}

const USAGE = `Usage:
  switchyard migrate [--config FILE]
  switchyard tenants create NAME [--rpm N] [--tpm N] [--output-tpm N] [--concurrency N] [--budget-day USD] [--budget-month USD] [--config FILE]
  switchyard tenants list [--json] [--config FILE]
  switchyard keys create --tenant NAME [--name LABEL] [--rpm N] [--tpm N] [--output-tpm N] [--concurrency N]
                         [--budget-day USD] [--budget-month USD] [--models a,b] [--routes r,s] [--admin] [--expires DATE] [--config FILE]
  switchyard keys list [--tenant NAME] [--json] [--config FILE]
  switchyard keys revoke ID [--config FILE]
  switchyard keys rotate ID [--config FILE]
(--tpm limits input tokens per minute; --output-tpm output tokens.)`;

/** Runs `migrate`, `tenants …` or `keys …`; returns the exit code. */
export async function runTenancyCli(command: 'migrate' | 'tenants' | 'keys', argv: string[], io: CliIo = stdio, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string', short: 'c' },
        tenant: { type: 'string' },
        name: { type: 'string' },
        models: { type: 'string' },
        routes: { type: 'string' },
        admin: { type: 'boolean' },
        expires: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        ...limitOptions,
      },
    });
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    io.out(`${USAGE}\n`);
    return 0;
  }
  let t: Target;
  try {
    t = await target(values.config, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(err.message);
      return 1;
    }
    throw err;
  }
  const db = await openMigrated(t, io, command === 'migrate');
  const repo = new TenancyRepository(db);
  /** Tells running gateways; true when they heard it at once (over Redis). */
  const announce = async (change: Invalidation): Promise<boolean> => {
    if (t.redisUrl === undefined) return false;
    if (await publishOnce(t.redisUrl, change)) return true;
    io.err('warning: Redis is unreachable: running gateways apply this when their key cache expires (auth.cacheTtlMs).');
    return false;
  };
  // The CLI writes the store; a running gateway without Redis learns of it when its cached lookup expires.
  const whenApplied = (heard: boolean): string => (heard ? 'Running gateways applied it at once.' : 'A running gateway applies it within auth.cacheTtlMs (30 s by default; at once with Redis).');
  try {
    if (command === 'migrate') return 0;
    const [action, arg] = positionals;
    const json = values.json === true;
    if (command === 'tenants' && action === 'create' && arg !== undefined) {
      const tenant = await repo.createTenant(arg, limitsFrom(values));
      io.out(json ? JSON.stringify(tenantView(tenant)) : `Created tenant ${tenant.name} (${tenant.id}).`);
      return 0;
    }
    if (command === 'tenants' && action === 'list') {
      const tenants = await repo.listTenants();
      if (json) io.out(JSON.stringify(tenants.map(tenantView)));
      else for (const x of tenants) io.out(`${x.id}\t${x.name}\t${describeLimits(x.limits)}`);
      return 0;
    }
    if (command === 'keys' && action === 'create') {
      if (values.tenant === undefined) throw new UsageError('keys create needs --tenant NAME.');
      const tenant = await repo.requireTenant(values.tenant);
      const limits = limitsFrom(values);
      const models = list(values.models);
      const routes = list(values.routes);
      const unknown = routes?.filter((rule) => !(ROUTE_RULES as readonly string[]).includes(rule));
      if (unknown !== undefined && unknown.length > 0) {
        throw new UsageError(`--routes: unknown rule${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}; the rules are ${ROUTE_RULES.join(', ')}.`);
      }
      const issued = await repo.createKey({
        tenantId: tenant.id,
        ...(values.name === undefined ? {} : { name: values.name }),
        ...(models === undefined ? {} : { models }),
        ...(routes === undefined ? {} : { routes }),
        ...(values.admin === true ? { admin: true } : {}),
        ...(values.expires === undefined ? {} : { expiresAt: parseExpiry(values.expires) }),
        ...(limits === undefined ? {} : { limits }),
      });
      await announce({ tenantId: tenant.id });
      io.out(`Created key ${issued.record.id} for tenant ${tenant.name} (${issued.record.prefix}…). Store it now: it is not shown again.`);
      io.out(issued.secret);
      return 0;
    }
    if (command === 'keys' && action === 'list') {
      const tenant = values.tenant === undefined ? undefined : await repo.requireTenant(values.tenant);
      const keys = await repo.listKeys(tenant?.id);
      const names = new Map((await repo.listTenants()).map((x) => [x.id, x.name]));
      if (json) io.out(JSON.stringify(keys.map((k) => keyView(k))));
      else for (const k of keys) {
        const v = keyView(k);
        io.out(`${k.id}\t${String(v.prefix)}\t${String(v.status)}\t${names.get(k.tenantId) ?? k.tenantId}${k.admin ? '\tadmin' : ''}\t${describeLimits(k.limits)}`);
      }
      return 0;
    }
    if (command === 'keys' && action === 'revoke' && arg !== undefined) {
      const key = await repo.revokeKey(arg);
      const heard = await announce({ keyId: key.id });
      io.out(`Revoked key ${key.id} (${key.prefix}…). ${whenApplied(heard)}`);
      return 0;
    }
    if (command === 'keys' && action === 'rotate' && arg !== undefined) {
      const issued = await repo.rotateKey(arg);
      const heard = await announce({ keyId: issued.record.id });
      io.out(`Rotated key ${issued.record.id}: the previous secret is retired. ${whenApplied(heard)} Store the new one now: it is not shown again.`);
      io.out(issued.secret);
      return 0;
    }
    throw new UsageError(`Unknown or incomplete command: switchyard ${command} ${positionals.join(' ')}`);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`${err.message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof TenancyError) {
      io.err(err.message);
      return 1;
    }
    throw err;
  } finally {
    await db.close();
  }
}

function describeLimits(limits: Limits): string {
  const parts = Object.entries(limits).map(([k, v]) => `${k}=${String(v)}`);
  return parts.length === 0 ? 'no limits' : parts.join(' ');
}
