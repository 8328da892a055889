/**
 * Limits shared by every gateway on one Redis: the same checks as the memory
 * backend (limits-backend.ts), each admission and each settlement one Lua
 * script, so the check and the count are atomic across instances — two
 * gateways can never both take the last request or the last dollar.
 *
 * Every key of a request carries its tenant as a hash tag (`{tenant}`), so the
 * scripts also run on a Redis Cluster. Slots and reservations are leases
 * (sorted sets scored by expiry): those of a crashed instance free themselves.
 * A settlement runs at most once (a marker per admission), so replaying one
 * after an outage cannot count it twice.
 */
import type { Redis } from 'ioredis';
import type { Admission, LimitBackend, LimitName, Settlement, Verdict } from './limits-backend.ts';
import { CONCURRENCY_RETRY_MS, IN_FLIGHT_RETRY_MS, WINDOW_MS } from './limits-backend.ts';

const WINDOW_TTL_MS = 2 * WINDOW_MS + 5_000;
const DAY_TTL_MS = 3 * 86_400_000;
const MONTH_TTL_MS = 35 * 86_400_000;

const LIMIT_NAMES: readonly LimitName[] = ['requestsPerMinute', 'inputTokensPerMinute', 'outputTokensPerMinute', 'concurrency', 'budgetDayUsd', 'budgetMonthUsd'];

const COMMON_LUA = `
local function num(key) return tonumber(redis.call('GET', key) or '0') end
-- Reservations whose lease ran out (their instance died) go back to the budget.
local function sweep(hash, leases, now)
  local expired = redis.call('ZRANGEBYSCORE', leases, '-inf', now, 'LIMIT', 0, 100)
  for _, m in ipairs(expired) do
    local amount = tonumber(string.match(m, '|(%d+)$'))
    if amount then redis.call('HINCRBY', hash, 'reserved', -amount) end
    redis.call('ZREM', leases, m)
  end
end
`;

/**
 * KEYS, 11 per scope: rpm cur/prev, itpm cur/prev, otpm cur/prev, concurrency
 * leases, day hash, day leases, month hash, month leases.
 * ARGV: member, now, elapsed, window, leaseUntil, inputTokens, cost,
 * windowTtl, dayTtl, monthTtl, then 6 per scope: rpm, itpm, otpm,
 * concurrency, day, month ('' for none).
 * Returns {1} or {0, limit 1-6, scope index, retry ms (-1: reservations in flight, -2: spent)}.
 */
const ADMIT_LUA = `${COMMON_LUA}
local member, now, elapsed, W = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local leaseUntil, input, cost = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local wttl, dttl, mttl = ARGV[8], ARGV[9], ARGV[10]
local n = #KEYS / 11
local function retry(limit, c, prev, cur)
  local room = limit - c
  if room < 0 then return W end
  if cur <= room then
    if prev <= 0 then return 1 end
    return math.max(1, math.ceil(W * (1 - (room - cur) / prev) - elapsed))
  end
  return math.max(1, math.ceil(W - elapsed + W * (1 - room / cur)))
end
local function window(limit, c, k, strict, idx, s)
  if not limit then return nil end
  local prev, cur = num(KEYS[k]), num(KEYS[k - 1])
  local count = prev * (1 - elapsed / W) + cur
  if (strict and count >= limit) or ((not strict) and count + c > limit) then
    return {0, idx, s, retry(limit, strict and 1 or c, prev, cur)}
  end
  return nil
end
for s = 0, n - 1 do
  local k, a = s * 11, 10 + s * 6
  local rpm, itpm, otpm = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local conc, day, month = tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5]), tonumber(ARGV[a + 6])
  local refused = window(rpm, 1, k + 2, false, 1, s) or window(itpm, input, k + 4, false, 2, s) or window(otpm, 0, k + 6, true, 3, s)
  if refused then return refused end
  if conc then
    redis.call('ZREMRANGEBYSCORE', KEYS[k + 7], '-inf', now)
    if redis.call('ZCARD', KEYS[k + 7]) >= conc then return {0, 4, s, ${CONCURRENCY_RETRY_MS}} end
  end
  for i, b in ipairs({{day, k + 8, 5}, {month, k + 10, 6}}) do
    local limit, h = b[1], b[2]
    if limit then
      sweep(KEYS[h], KEYS[h + 1], now)
      local spent = tonumber(redis.call('HGET', KEYS[h], 'spent') or '0')
      local reserved = tonumber(redis.call('HGET', KEYS[h], 'reserved') or '0')
      if spent + reserved + cost > limit then
        if reserved > 0 and spent + cost <= limit then return {0, b[3], s, -1} end
        return {0, b[3], s, -2}
      end
    end
  end
end
for s = 0, n - 1 do
  local k, a = s * 11, 10 + s * 6
  if ARGV[a + 1] ~= '' then redis.call('INCR', KEYS[k + 1]); redis.call('PEXPIRE', KEYS[k + 1], wttl) end
  if ARGV[a + 2] ~= '' then redis.call('INCRBY', KEYS[k + 3], input); redis.call('PEXPIRE', KEYS[k + 3], wttl) end
  if ARGV[a + 4] ~= '' then
    redis.call('ZADD', KEYS[k + 7], leaseUntil, member)
    redis.call('PEXPIRE', KEYS[k + 7], math.max(leaseUntil - now, 1000) + 60000)
  end
  for i, b in ipairs({{ARGV[a + 5], k + 8, dttl}, {ARGV[a + 6], k + 10, mttl}}) do
    if b[1] ~= '' then
      redis.call('HINCRBY', KEYS[b[2]], 'reserved', cost)
      redis.call('PEXPIRE', KEYS[b[2]], b[3])
      redis.call('ZADD', KEYS[b[2] + 1], leaseUntil, member .. '|' .. ARGV[7])
      redis.call('PEXPIRE', KEYS[b[2] + 1], b[3])
    end
  end
end
return {1}
`;

/**
 * KEYS: the settled marker, then 7 per scope: itpm of the admission window,
 * otpm of the current window, concurrency leases, day hash, day leases, month
 * hash, month leases. ARGV: member, inputDelta, outputTokens, reserved, actual,
 * windowTtl, dayTtl, monthTtl, markerTtl, then 5 flags per scope ('1' or '').
 */
const SETTLE_LUA = `
local member, delta, out = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local reserved, actual = ARGV[4], tonumber(ARGV[5])
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[9]) then return 0 end
local n = (#KEYS - 1) / 7
for s = 0, n - 1 do
  local k, a = 1 + s * 7, 9 + s * 5
  if ARGV[a + 1] == '1' and delta ~= 0 and redis.call('EXISTS', KEYS[k + 1]) == 1 then
    if redis.call('INCRBY', KEYS[k + 1], delta) < 0 then redis.call('SET', KEYS[k + 1], 0, 'KEEPTTL') end
  end
  if ARGV[a + 2] == '1' and out > 0 then
    redis.call('INCRBY', KEYS[k + 2], out)
    redis.call('PEXPIRE', KEYS[k + 2], ARGV[6])
  end
  if ARGV[a + 3] == '1' then redis.call('ZREM', KEYS[k + 3], member) end
  for i, b in ipairs({{ARGV[a + 4], k + 4, ARGV[7]}, {ARGV[a + 5], k + 6, ARGV[8]}}) do
    if b[1] == '1' then
      if redis.call('ZREM', KEYS[b[2] + 1], member .. '|' .. reserved) == 1 then
        redis.call('HINCRBY', KEYS[b[2]], 'reserved', -tonumber(reserved))
      end
      redis.call('HINCRBY', KEYS[b[2]], 'spent', actual)
      redis.call('PEXPIRE', KEYS[b[2]], b[3])
    end
  end
end
return 1
`;

/** Spent and reserved nano-USD of one budget, read back (tests, stats). */
const READ_LUA = `return {redis.call('HGET', KEYS[1], 'spent') or '0', redis.call('HGET', KEYS[1], 'reserved') or '0'}`;

type Scripted = Redis & {
  swyLimitsAdmit(...args: Array<string | number>): Promise<number[]>;
  swyLimitsSettle(...args: Array<string | number>): Promise<number>;
  swyLimitsRead(...args: Array<string | number>): Promise<[string, string]>;
};

const opt = (n: number | undefined): string => (n === undefined ? '' : String(n));
const flag = (n: number | undefined): string => (n === undefined ? '' : '1');

export class RedisLimitBackend implements LimitBackend {
  readonly #redis: Scripted;
  readonly #prefix: string;

  constructor(client: Redis, prefix: string) {
    this.#prefix = prefix;
    // defineCommand is idempotent per client and sends EVALSHA, loading the script on NOSCRIPT.
    client.defineCommand('swyLimitsAdmit', { lua: ADMIT_LUA });
    client.defineCommand('swyLimitsSettle', { lua: SETTLE_LUA });
    client.defineCommand('swyLimitsRead', { lua: READ_LUA });
    this.#redis = client as Scripted;
  }

  #base(slot: string, id: string): string {
    return `${this.#prefix}{${slot}}:${id}:`;
  }

  async admit(a: Admission): Promise<Verdict> {
    const member = a.id;
    const keys: string[] = [];
    const perScope: string[] = [];
    for (const plan of a.scopes) {
      const b = this.#base(plan.slot, plan.id);
      const w = a.window;
      keys.push(`${b}r:${w}`, `${b}r:${w - 1}`, `${b}i:${w}`, `${b}i:${w - 1}`, `${b}o:${w}`, `${b}o:${w - 1}`, `${b}c`);
      keys.push(`${b}d:${a.day}`, `${b}dl:${a.day}`, `${b}m:${a.month}`, `${b}ml:${a.month}`);
      perScope.push(opt(plan.rpm), opt(plan.itpm), opt(plan.otpm), opt(plan.concurrency), opt(plan.dayNanos), opt(plan.monthNanos));
    }
    const elapsed = a.now - a.window * WINDOW_MS;
    const args = [member, a.now, elapsed, WINDOW_MS, a.leaseUntil, a.inputTokens, a.costNanos, WINDOW_TTL_MS, DAY_TTL_MS, MONTH_TTL_MS];
    const result = await this.#redis.swyLimitsAdmit(keys.length, ...keys, ...args, ...perScope);
    if (result[0] === 1) return { ok: true };
    const limit = LIMIT_NAMES[(result[1] ?? 1) - 1]!;
    const scope = a.scopes[result[2] ?? 0]!;
    let retryAfterMs = result[3] ?? 1000;
    if (retryAfterMs === -1) retryAfterMs = IN_FLIGHT_RETRY_MS;
    else if (retryAfterMs === -2) retryAfterMs = Math.max(1, (limit === 'budgetDayUsd' ? a.dayEndsAt : a.monthEndsAt) - a.now);
    return { ok: false, limit, scope, retryAfterMs };
  }

  async settle(a: Admission, used: Settlement): Promise<void> {
    const member = a.id;
    const slot = a.scopes[0]?.slot ?? 'open';
    const keys = [`${this.#prefix}{${slot}}:settled:${member}`];
    const flags: string[] = [];
    const window = Math.floor(used.now / WINDOW_MS);
    for (const plan of a.scopes) {
      const b = this.#base(plan.slot, plan.id);
      keys.push(`${b}i:${a.window}`, `${b}o:${window}`, `${b}c`, `${b}d:${a.day}`, `${b}dl:${a.day}`, `${b}m:${a.month}`, `${b}ml:${a.month}`);
      flags.push(flag(plan.itpm), flag(plan.otpm), flag(plan.concurrency), flag(plan.dayNanos), flag(plan.monthNanos));
    }
    const markerTtl = Math.max(a.leaseUntil - used.now, 0) + WINDOW_MS;
    const args = [member, used.inputTokens - a.inputTokens, used.outputTokens, a.costNanos, used.costNanos, WINDOW_TTL_MS, DAY_TTL_MS, MONTH_TTL_MS, markerTtl];
    await this.#redis.swyLimitsSettle(keys.length, ...keys, ...args, ...flags);
  }

  /** Spent and reserved nano-USD of one scope's budget (`d:DAY` or `m:MONTH`). */
  async budget(slot: string, scopeId: string, period: string): Promise<{ spent: number; reserved: number }> {
    const [spent, reserved] = await this.#redis.swyLimitsRead(1, `${this.#base(slot, scopeId)}${period}`);
    return { spent: Number(spent), reserved: Number(reserved) };
  }

  async close(): Promise<void> {
    // The connection belongs to whoever created it.
  }
}
