/**
 * Redis for the limits tests: the machine's Redis (REDIS_URL, under CI=true it
 * must be there) with a key prefix of its own per test file, or a private
 * redis-server started on a free port to stop and start again.
 */
import type { TestContext } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import type { ExtensionFactory } from '../../src/server/gateway.ts';
import type { Principal } from '../../src/tenancy/principal.ts';
import type { LimitsEnforcer } from '../../src/tenancy/limits.ts';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** True when Redis answers; under CI=true a missing Redis fails the test instead of skipping it. */
export async function requireRedis(t: TestContext): Promise<boolean> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch (err) {
    if (process.env.CI === 'true') throw new Error(`Redis is required under CI=true (REDIS_URL=${REDIS_URL}): ${(err as Error).message}`);
    console.warn(`\n*** SKIPPING Redis limits test: no Redis at ${REDIS_URL} (${(err as Error).message}) ***\n`);
    t.skip('no Redis');
    return false;
  } finally {
    client.disconnect();
  }
}

/** A prefix no other run uses; its keys are deleted after the test. */
export function uniquePrefix(t: TestContext): string {
  const prefix = `swy:test:limits:${randomBytes(6).toString('hex')}:`;
  t.after(async () => {
    const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 0 });
    client.on('error', () => {});
    try {
      let cursor = '0';
      for (let i = 0; i < 1000; i++) {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        if (keys.length > 0) await client.del(...keys);
        cursor = next;
        if (cursor === '0') break;
      }
    } finally {
      client.disconnect();
    }
  });
  return prefix;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** A redis-server of this test alone, without persistence; stop() and start() again on the same port. */
export interface PrivateRedis {
  readonly url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Undefined (and the test skipped loudly) when redis-server cannot run here; under CI=true that fails. */
export async function privateRedis(t: TestContext): Promise<PrivateRedis | undefined> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const stop = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGKILL');
    });
  };
  const start = async (): Promise<void> => {
    const spawned = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    child = spawned;
    const failed = new Promise<Error>((resolve) => spawned.once('error', resolve));
    const exited = await Promise.race([failed, new Promise<undefined>((r) => setTimeout(r, 50, undefined))]);
    if (exited !== undefined) throw new Error(`cannot run redis-server: ${exited.message}`);
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      for (let i = 0; i < 100; i++) {
        try {
          await probe.connect();
          await probe.ping();
          return;
        } catch {
          probe.disconnect();
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      throw new Error(`redis-server did not start on port ${port}`);
    } finally {
      probe.disconnect();
    }
  };
  t.after(stop);
  try {
    await start();
  } catch (err) {
    if (process.env.CI === 'true') throw err;
    console.warn(`\n*** SKIPPING Redis outage test: ${(err as Error).message} ***\n`);
    t.skip('no redis-server');
    return undefined;
  }
  return { url, start, stop };
}

/** Polls until `check` holds, at most `ms`. */
export async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  for (let i = 0; i < 1000 && Date.now() < end; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

/** Plays authentication: every request runs as `principal` (or as the one the header `x-test-key` names). */
export function as(principal: Principal, others: Record<string, Principal> = {}): ExtensionFactory {
  return () => ({
    name: 'test-auth',
    hooks: {
      admit(call) {
        const named = call.headers['x-test-key'];
        call.principal = typeof named === 'string' && others[named] !== undefined ? others[named] : principal;
      },
    },
  });
}

export function keyPrincipal(id: string, keyLimits: Principal['keyLimits'], tenantLimits?: Principal['tenantLimits'], tenant = 't1'): Principal {
  return {
    kind: 'key',
    tenantId: tenant,
    tenantName: tenant,
    keyId: id,
    ...(keyLimits === undefined ? {} : { keyLimits }),
    ...(tenantLimits === undefined ? {} : { tenantLimits }),
  };
}

export function enforcer(gateway: { extensions: readonly { name: string }[] }): LimitsEnforcer {
  const found = gateway.extensions.find((e) => e.name === 'limits');
  assert.ok(found, 'the limits extension is built in');
  return found as LimitsEnforcer;
}
