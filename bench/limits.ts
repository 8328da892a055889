/**
 * Limits micro-benchmark: admissions + settlements per second and the time one
 * takes, for the in-process counters and for Redis (REDIS_URL, default
 * 127.0.0.1:6379), with every limit set on a key and its tenant.
 *
 *   npm run bench:limits [-- --requests N] [--parallel N]
 */
import { parseArgs } from 'node:util';
import { flagsOrExit, numberFlag } from './lib/harness.ts';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { MemoryLimitBackend, WINDOW_MS, type Admission, type LimitBackend, type ScopePlan } from '../src/tenancy/limits-backend.ts';
import { RedisLimitBackend } from '../src/tenancy/limits-redis.ts';
import { periodsAt } from '../src/tenancy/limits.ts';

const usage = `Usage: npm run bench:limits -- [options]     (or: node bench/limits.ts [options])

  --requests N   admissions (each with its settlement) per backend (default 20000)
  --parallel N   admissions in flight at once (default 32)
  -h, --help
`;
const { total, parallel } = flagsOrExit(usage, () => {
  const { values } = parseArgs({
    strict: true,
    options: { requests: { type: 'string' }, parallel: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
  });
  return {
    help: values.help,
    total: numberFlag('requests', values.requests, 20_000, { max: 10_000_000, integer: true }),
    parallel: numberFlag('parallel', values.parallel, 32, { max: 10_000, integer: true }),
  };
});

const scopes: ScopePlan[] = [
  { id: 'key:bench', slot: 'bench', rpm: 1e12, itpm: 1e12, otpm: 1e12, concurrency: 1e9, dayNanos: 1e15, monthNanos: 1e15 },
  { id: 'tenant:bench', slot: 'bench', rpm: 1e12, itpm: 1e12, concurrency: 1e9, dayNanos: 1e15, monthNanos: 1e15 },
];

async function run(name: string, backend: LimitBackend): Promise<void> {
  let next = 0;
  const latencies: number[] = [];
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      const now = Date.now();
      const a: Admission = { id: `b${i}`, now, window: Math.floor(now / WINDOW_MS), inputTokens: 500, costNanos: 1000, ...periodsAt(now), leaseUntil: now + 600_000, scopes };
      const t0 = performance.now();
      const verdict = await backend.admit(a);
      if (!verdict.ok) throw new Error(`refused: ${verdict.limit}`);
      await backend.settle(a, { inputTokens: 450, outputTokens: 100, costNanos: 900, now: Date.now() });
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((x, y) => x - y);
  const pct = (p: number): string => (latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0).toFixed(3);
  console.log(`${name.padEnd(8)} ${Math.round(total / seconds).toString().padStart(8)} admit+settle/s   p50 ${pct(0.5)} ms   p99 ${pct(0.99)} ms   (${parallel} in parallel)`);
}

await run('memory', new MemoryLimitBackend());
const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 0 });
const prefix = `swy:bench:limits:${randomBytes(4).toString('hex')}:`;
try {
  await run('redis', new RedisLimitBackend(client, prefix));
} finally {
  const keys = await client.keys(`${prefix}*`);
  for (let i = 0; i < keys.length; i += 500) await client.del(...keys.slice(i, i + 500));
  client.disconnect();
}
