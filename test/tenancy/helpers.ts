/**
 * A gateway with authentication on a store the test can reach too (a SQLite
 * file, or PostgreSQL): tenants and keys made through the admin API or the
 * repository, clients calling with them.
 */
import type { TestContext } from 'node:test';
import { defaultYaml, startStack, type Stack } from '../e2e/stack.ts';
import { openDb } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { migrations } from '../../src/store/migrations/index.ts';
import { TenancyRepository } from '../../src/tenancy/repository.ts';
import { freshSqliteUrl } from '../store/backends.ts';

export const ADMIN_KEY = 'admin-test-key-0123456789abcdef';

export interface AuthStack extends Stack {
  repo: TenancyRepository;
  storeUrl: string;
  admin(method: string, path: string, body?: unknown, key?: string): Promise<{ status: number; json: Record<string, unknown>; text: string; headers: Headers }>;
}

/** Opens the store the gateway will use, so keys can exist before it starts. */
export async function openRepo(t: TestContext, storeUrl: string): Promise<TenancyRepository> {
  const db = await openDb(storeUrl);
  t.after(() => db.close());
  await migrate(db, migrations);
  return new TenancyRepository(db);
}

export async function startAuthStack(
  t: TestContext,
  options: { extra?: string; storeUrl?: string; before?: (repo: TenancyRepository) => Promise<void> } = {},
): Promise<AuthStack> {
  const storeUrl = options.storeUrl ?? freshSqliteUrl(t);
  const repo = await openRepo(t, storeUrl);
  await options.before?.(repo);
  const stack = await startStack(t, {
    yaml: (mockUrl) =>
      defaultYaml(mockUrl, `admin: { apiKeys: ["${ADMIN_KEY}"] }\n${options.extra ?? ''}`).replace('store: { url: "sqlite::memory:" }', `store: { url: "${storeUrl}" }`),
  });
  const admin: AuthStack['admin'] = async (method, path, body, key = ADMIN_KEY) => {
    const res = await fetch(`${stack.gateway.url}${path}`, {
      method,
      headers: { 'x-api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // left empty
    }
    return { status: res.status, json, text, headers: res.headers };
  };
  return { ...stack, repo, storeUrl, admin };
}

export const anthropicBody = { model: 'claude-mock', max_tokens: 16, messages: [{ role: 'user', content: 'hello' }] };
export const openaiBody = { model: 'gpt-mock', messages: [{ role: 'user', content: 'hello' }] };
