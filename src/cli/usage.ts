/**
 * `switchyard usage`: usage and cost from the ledger, as a table or JSON; and
 * `switchyard usage prune`: retention by hand, with progress. Both work on the
 * store the gateway uses (the config's `store.url`, else DATABASE_URL, else
 * the embedded SQLite file).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfigFile, type Config } from '../config/index.ts';
import { openDb, resolveStoreUrl, type Db } from '../store/db.ts';
import { migrate } from '../store/migrate.ts';
import { migrations } from '../store/migrations/index.ts';
import { parseTimeBound, resolveTenantId, UsageQueries, usageGroupings, type UsageGrouping, type UsageReport, type UsageRow } from '../usage/queries.ts';
import { pruneUsage, retentionCutoff } from '../usage/retention.ts';

export const usageHelp = `Usage:
  switchyard usage [--tenant NAME] [--key ID] [--by day|hour|model|key|deployment|tenant] [--from T] [--to T] [--json] [--config FILE]
      usage and cost; T is a date (2026-11-23, a whole day as --to), a time (2026-11-23T10:00Z) or epoch ms; default: the last 30 days
  switchyard usage prune [--days N] [--config FILE]
      delete usage events older than N days (default: usage.retentionDays), in small chunks, with progress
`;

const DEFAULT_CONFIG_FILES = ['switchyard.yaml', 'switchyard.yml'];

export interface UsageIo {
  out(text: string): void;
  err(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  /** Progress lines rewrite themselves in a terminal. */
  tty: boolean;
}

const defaultIo: UsageIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
  tty: process.stderr.isTTY === true,
};

async function loadConfig(file: string | undefined, env: UsageIo['env']): Promise<Config | undefined> {
  const chosen = file ?? (env.SWITCHYARD_CONFIG || DEFAULT_CONFIG_FILES.find((f) => existsSync(f)));
  return chosen === undefined ? undefined : loadConfigFile(resolve(chosen), env);
}

async function openLedger(config: Config | undefined, env: UsageIo['env']): Promise<Db> {
  const db = await openDb(resolveStoreUrl(config?.store.url, env));
  try {
    await migrate(db, migrations);
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}

export async function runUsage(argv: string[], io: UsageIo = defaultIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(usageHelp);
    return 0;
  }
  try {
    return argv[0] === 'prune' ? await prune(argv.slice(1), io) : await report(argv, io);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(`${err.message}\n`);
      return 1;
    }
    if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) {
      io.err(`${err.message}\n\n${usageHelp}`);
      return 2;
    }
    if (err instanceof RangeError) {
      io.err(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

async function report(argv: string[], io: UsageIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      tenant: { type: 'string' },
      key: { type: 'string' },
      by: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const by = values.by as UsageGrouping | undefined;
  if (by !== undefined && !usageGroupings.includes(by)) throw new RangeError(`--by must be one of ${usageGroupings.join(', ')}; got '${values.by}'.`);
  const from = parseTimeBound(values.from, false);
  const to = parseTimeBound(values.to, true);
  if (from !== undefined && to !== undefined && from >= to) throw new RangeError('--from must be before --to.');
  const db = await openLedger(await loadConfig(values.config, io.env), io.env);
  try {
    const tenantId = values.tenant === undefined ? undefined : await resolveTenantId(db, values.tenant);
    const result = await new UsageQueries(db, { cacheMs: 0 }).report({ tenantId, keyId: values.key, by, from, to });
    // A name no tenant has is read as an id; when nothing matches either, a typo is likelier than silence.
    if (values.tenant !== undefined && tenantId === values.tenant && result.totals.requests === 0) {
      io.err(`note: no tenant is named '${values.tenant}' in this store, and no usage carries it as a tenant id.\n`);
    }
    io.out(values.json ? `${JSON.stringify(result, null, 2)}\n` : formatReport(result, values.tenant));
    return 0;
  } finally {
    await db.close();
  }
}

async function prune(argv: string[], io: UsageIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string', short: 'c' }, days: { type: 'string' } },
    strict: true,
  });
  const config = await loadConfig(values.config, io.env);
  const days = values.days === undefined ? (config?.usage.retentionDays ?? 0) : Number(values.days);
  if (!Number.isInteger(days) || days < 1) {
    throw new RangeError(values.days === undefined ? 'Nothing to prune: pass --days N or set usage.retentionDays.' : `--days must be a whole number of days, at least 1; got '${values.days}'.`);
  }
  const before = retentionCutoff(days);
  const db = await openLedger(config, io.env);
  try {
    io.err(`Deleting usage events older than ${days} day${days === 1 ? '' : 's'} (before ${new Date(before).toISOString()}) from ${db.description}\n`);
    let shownAt = 0;
    let shown = '';
    const deleted = await pruneUsage(db, {
      before,
      onProgress: ({ deleted: done, total }) => {
        const now = Date.now();
        if (done !== total && now - shownAt < 500) return;
        const line = `  ${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} deleted (${total === 0 ? 100 : Math.floor((done / total) * 100)}%)`;
        if (line === shown) return;
        shownAt = now;
        shown = line;
        io.err(io.tty ? `\r${line}` : `${line}\n`);
      },
    });
    if (io.tty) io.err('\n');
    io.out(`Deleted ${deleted} usage event${deleted === 1 ? '' : 's'}.\n`);
    return 0;
  } finally {
    await db.close();
  }
}

const integer = (n: number): string => n.toLocaleString('en-US');
const usd = (n: number): string => `$${n.toFixed(n !== 0 && Math.abs(n) < 0.01 ? 6 : 4)}`;

/** A plain-text table: one row per group and a total line. */
export function formatReport(report: UsageReport, tenantLabel?: string): string {
  const scope = [tenantLabel === undefined ? undefined : `tenant ${tenantLabel}`, report.keyId === null ? undefined : `key ${report.keyId}`].filter(Boolean).join(', ');
  const when = (iso: string): string => iso.replace('T', ' ').replace(/:00\.000Z$|\.\d{3}Z$/, '').replace(/ 00:00$/, '');
  const header = `Usage from ${when(report.from)} up to ${when(report.to)} UTC${scope === '' ? '' : ` (${scope})`}\n\n`;
  const columns = [report.by ?? '', 'requests', 'errors', 'input', 'output', 'cache read', 'cache write', 'cost'];
  const cells = (label: string, r: Omit<UsageRow, 'group'>): string[] => [
    label,
    integer(r.requests),
    integer(r.errors),
    integer(r.inputTokens),
    integer(r.outputTokens),
    integer(r.cacheReadTokens),
    integer(r.cacheWriteTokens),
    usd(r.costUsd),
  ];
  const label = (r: UsageRow): string => {
    if (r.group === null) return '(none)';
    if (report.by === 'day') return r.group.slice(0, 10);
    if (report.by === 'hour') return `${r.group.slice(0, 13).replace('T', ' ')}:00`;
    return r.name ? `${r.name} (${r.group})` : r.group;
  };
  const rows = report.rows.map((r) => cells(label(r), r));
  rows.push(cells('total', report.totals));
  const all = report.by === null ? [columns.slice(1), ...rows.map((r) => r.slice(1))] : [columns, ...rows];
  const widths = all[0]!.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 && report.by !== null ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const body = all.map(line);
  // A rule above the total when there are rows.
  if (report.by !== null) body.splice(body.length - 1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return `${header}${body.join('\n')}\n`;
}
