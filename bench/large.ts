/**
 * `npm run bench:large`: what a ~100k-token request costs to proxy. One
 * conversation of ~400 KB (this repository's code and docs), at concurrency
 * 1, sent directly to the mock, through the floor proxy and through
 * Switchyard (full pipeline): passthrough Anthropic and OpenAI, translated
 * Anthropic → OpenAI, and Claude Code's own model name, which no model is
 * configured under, so it goes through the scenario rules and the longContext
 * route (the token threshold). Reports p50/p99 and the latency Switchyard and
 * the floor add over the direct call. Goal: Switchyard adds under 2 ms.
 * Methodology: docs/benchmarks.md. Bounded in time; children never outlive it.
 */
import { copyFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { ChatRequest } from '../src/model/types.ts';
import { countTokens, exceedsTokens, loadTokenizer } from '../src/routing/tokens.ts';
import { gitCommit, log, machine, numberFlag, optionsOrExit, runBench, runScript, writeResult } from './lib/harness.ts';
import { anthropicLargeBody, buildConversation, openaiLargeBody, type Conversation } from './lib/large-context.ts';
import { formatSummary, readProfile, summariseProfile } from './lib/profile.ts';
import { assertStackAlive, gatewayCredential, startScaleStack, type ScaleStack } from './lib/scale-stack.ts';
import { findShape, targetNames, type Shape, type TargetName } from './lib/shapes.ts';
import { repoRoot } from './lib/stack.ts';
import { postOnce, unboundedAgent } from './lib/stream-client.ts';

const GOAL_ADDED_MS = 2;
/** The gateway's default routes.longContextThreshold. */
const THRESHOLD = 60_000;
/** The model Claude Code asks for; not configured, so the scenario rules route it. */
const UNCONFIGURED_MODEL = 'claude-sonnet-4-5-20250929';

const usage = `Usage: npm run bench:large -- [options]     (or: node bench/large.ts [options])

  --quick            short runs (about 40 s in all)
  --duration S       measured seconds per case and target (default 4, quick 1.5)
  --warmup S         warm-up seconds per case and target (default 1, quick 0.5)
  --rounds N         interleave the targets in N rounds per case (default 2, quick 1)
  --kib N            size of the conversation's text, KiB (default 400: ~100k tokens)
  --cases a,b        only these cases: ${['anthropic', 'openai', 'translated', 'long-context'].join(', ')}
  --profile          run the gateway with --cpu-prof; print its top self-time functions (numbers then not comparable)
  --no-pin           do not pin processes to CPUs with taskset
  --out FILE         write the JSON result here instead of bench/results/large-<timestamp>.json
  -h, --help
`;

interface Options {
  quick: boolean;
  durationS: number;
  warmupS: number;
  rounds: number;
  kib: number;
  cases: string[];
  profile: boolean;
  pin: boolean;
  out: string | undefined;
}

function parseOptions(argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      quick: { type: 'boolean', default: false },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      kib: { type: 'string' },
      cases: { type: 'string' },
      profile: { type: 'boolean', default: false },
      'no-pin': { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const quick = values.quick;
  const known = ['anthropic', 'openai', 'translated', 'long-context'];
  const cases = values.cases === undefined ? known : values.cases.split(',').map((c) => c.trim());
  for (const c of cases) if (!known.includes(c)) throw new Error(`--cases: unknown case '${c}' (${known.join(', ')})`);
  return {
    quick,
    durationS: numberFlag('duration', values.duration, quick ? 1.5 : 4, { max: 120 }),
    warmupS: numberFlag('warmup', values.warmup, quick ? 0.5 : 1, { max: 60 }),
    rounds: numberFlag('rounds', values.rounds, quick ? 1 : 2, { max: 10, integer: true }),
    kib: numberFlag('kib', values.kib, 400, { max: 8192, integer: true }),
    cases,
    profile: values.profile,
    pin: !values['no-pin'],
    out: values.out,
  };
}

interface Case {
  id: string;
  title: string;
  /** The shape whose path, headers and response checks this case uses. */
  shape: Shape;
  client: 'anthropic' | 'openai';
  /** Body factory per target (request number → JSON). */
  body: (target: TargetName) => (n: number) => string;
  /** Extra check of Switchyard's answer in the preflight (e.g. that the longContext route was taken). */
  expectInReply?: string;
}

function cases(c: Conversation, wanted: string[]): Case[] {
  const anthropicStream = findShape('anthropic-stream') as Shape;
  const openaiStream = findShape('openai-stream') as Shape;
  const all: Case[] = [
    {
      id: 'anthropic',
      title: 'Anthropic stream, passthrough',
      shape: anthropicStream,
      client: 'anthropic',
      body: (t) => anthropicLargeBody(c, t === 'switchyard' ? 'claude-mock' : 'upstream-claude'),
    },
    {
      id: 'openai',
      title: 'OpenAI stream, passthrough',
      shape: openaiStream,
      client: 'openai',
      body: (t) => openaiLargeBody(c, t === 'switchyard' ? 'gpt-mock' : 'upstream-gpt'),
    },
    {
      id: 'translated',
      title: 'Anthropic → OpenAI stream, translated',
      shape: anthropicStream,
      client: 'anthropic',
      // Direct and floor: the client's protocol on the mock (a bare proxy cannot translate).
      body: (t) => anthropicLargeBody(c, t === 'switchyard' ? 'gpt-mock' : 'upstream-gpt'),
    },
    {
      id: 'long-context',
      title: `Anthropic stream, unconfigured model "${UNCONFIGURED_MODEL}" → scenario rules → longContext`,
      shape: anthropicStream,
      client: 'anthropic',
      body: (t) => anthropicLargeBody(c, t === 'switchyard' ? UNCONFIGURED_MODEL : 'upstream-claude'),
      // The mock names the upstream model in its reply: the longContext route's deployment.
      expectInReply: 'upstream-claude-long',
    },
  ];
  return all.filter((x) => wanted.includes(x.id));
}

interface TargetLatency {
  requests: number;
  failures: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
}

interface CaseResult {
  id: string;
  title: string;
  targets: Record<TargetName, TargetLatency>;
  floorMinusDirect: { p50Ms: number; p99Ms: number };
  switchyardMinusDirect: { p50Ms: number; p99Ms: number };
}

interface Target {
  name: TargetName;
  url: URL;
  headers: Record<string, string>;
  body: (n: number) => string;
  hist: RecordableHistogram;
  requests: number;
  failures: number;
  problem: string | undefined;
}

const round3 = (n: number): number => Math.round(n * 1000) / 1000;

/** Sequential requests to one target for `seconds`; latency to the last byte, µs, into `hist` when given. */
async function runFor(t: Target, seconds: number, shape: Shape, counter: { n: number }, hist: RecordableHistogram | undefined): Promise<void> {
  const agent = unboundedAgent(true);
  const end = performance.now() + seconds * 1000;
  // Bounded by time, and by count as a backstop.
  for (let i = 0; i < 100_000 && performance.now() < end; i++) {
    const body = t.body(counter.n++);
    try {
      const res = await postOnce(agent, t.url, t.headers, body);
      const ok = res.status === 200 && shape.looksComplete(res.text);
      if (hist !== undefined) {
        t.requests++;
        if (ok) hist.record(Math.max(1, Math.round(res.ms * 1000)));
        else {
          t.failures++;
          t.problem ??= `status ${res.status}: ${res.text.slice(0, 200)}`;
        }
      }
    } catch (err) {
      if (hist !== undefined) {
        t.requests++;
        t.failures++;
        t.problem ??= err instanceof Error ? err.message : String(err);
      }
    }
  }
  agent.destroy();
}

async function measureCase(stack: ScaleStack, c: Case, o: Options, counter: { n: number }): Promise<{ result: CaseResult; failures: number }> {
  log(`${c.title} [${c.id}]`);
  const base: Record<TargetName, string> = { direct: stack.mockUrl, floor: stack.floorUrl as string, switchyard: stack.gatewayUrl };
  const targets: Target[] = targetNames.map((name) => ({
    name,
    url: new URL(c.shape.path, base[name]),
    headers: name === 'switchyard' ? { ...c.shape.headers, ...gatewayCredential(stack, c.client) } : c.shape.headers,
    body: c.body(name),
    hist: createHistogram({ lowest: 1, highest: 120_000_000, figures: 3 }),
    requests: 0,
    failures: 0,
    problem: undefined,
  }));
  let failures = 0;
  // Preflight: one fully checked request per target.
  const preflightAgent = unboundedAgent();
  for (const t of targets) {
    const res = await postOnce(preflightAgent, t.url, t.headers, t.body(counter.n++));
    const problem = c.shape.validate(res.status, res.text) ?? (t.name === 'switchyard' && c.expectInReply !== undefined && !res.text.includes(c.expectInReply) ? `the reply does not name ${c.expectInReply}: the request did not take the expected route` : undefined);
    if (problem !== undefined) {
      failures++;
      log(`  !!! ${t.name}: a checked request failed: ${problem}`);
    }
  }
  preflightAgent.destroy();
  for (const t of targets) {
    await runFor(t, o.warmupS, c.shape, counter, undefined);
    assertStackAlive(stack);
  }
  const slice = o.durationS / o.rounds;
  for (let r = 0; r < o.rounds; r++) {
    for (let i = 0; i < targets.length; i++) {
      const t = targets[(i + r) % targets.length] as Target;
      await runFor(t, slice, c.shape, counter, t.hist);
      assertStackAlive(stack);
    }
  }
  const lat = (t: Target): TargetLatency => {
    const empty = t.hist.count === 0;
    const ms = (us: number): number => (empty ? 0 : round3(us / 1000));
    return { requests: t.requests, failures: t.failures, p50Ms: ms(t.hist.percentile(50)), p99Ms: ms(t.hist.percentile(99)), meanMs: ms(t.hist.mean), maxMs: ms(t.hist.max) };
  };
  const [direct, floor, switchyard] = targets.map(lat) as [TargetLatency, TargetLatency, TargetLatency];
  for (const t of targets) {
    const l = lat(t);
    failures += t.failures;
    log(`  ${t.name.padEnd(11)} ${String(l.requests).padStart(5)} requests  p50 ${l.p50Ms.toFixed(3)} ms  p99 ${l.p99Ms.toFixed(3)} ms${t.failures > 0 ? `  !! ${t.failures} FAILED: ${t.problem}` : ''}`);
  }
  const minus = (a: TargetLatency) => ({ p50Ms: round3(a.p50Ms - direct.p50Ms), p99Ms: round3(a.p99Ms - direct.p99Ms) });
  const result: CaseResult = { id: c.id, title: c.title, targets: { direct, floor, switchyard }, floorMinusDirect: minus(floor), switchyardMinusDirect: minus(switchyard) };
  log(`  → added over direct: floor p50 ${result.floorMinusDirect.p50Ms} / p99 ${result.floorMinusDirect.p99Ms} ms, switchyard p50 ${result.switchyardMinusDirect.p50Ms} / p99 ${result.switchyardMinusDirect.p99Ms} ms`);
  return { result, failures };
}

/** In this process: what the longContext decision costs on this conversation, and what a full count would. */
function tokenDecision(c: Conversation): { tokens: number; exceedsMs: number; fullCountMs: number; decidedLong: boolean } {
  const req = (n: number): ChatRequest => ({
    model: UNCONFIGURED_MODEL,
    stream: true,
    system: [{ type: 'text', text: c.system }],
    messages: c.turns.map((t) => ({ role: t.role, content: [{ type: 'text', text: `[request ${n}] ${t.text}` }] })),
  });
  loadTokenizer();
  let n = -1;
  // Fresh texts every time (no cache hits); best of 5 for the decision, one full count (it takes long).
  let exceedsMs = Infinity;
  let decidedLong = false;
  for (let i = 0; i < 5; i++) {
    const r = req(n--);
    const t0 = performance.now();
    decidedLong = exceedsTokens(r, THRESHOLD);
    exceedsMs = Math.min(exceedsMs, performance.now() - t0);
  }
  const r = req(n--);
  const t0 = performance.now();
  const tokens = countTokens(r);
  const fullCountMs = performance.now() - t0;
  return { tokens, exceedsMs: round3(exceedsMs), fullCountMs: Math.round(fullCountMs), decidedLong };
}

async function main(argv: string[]): Promise<number> {
  const parsed = optionsOrExit(() => parseOptions(argv), usage);
  if ('exit' in parsed) return parsed.exit;
  const opts = parsed.options;
  const planned = opts.cases.length * 3 * (opts.durationS + opts.warmupS + 1) + 30;
  const budgetS = Math.ceil(planned * 2 + 60);
  log(`planned: about ${Math.round(planned)} s (${opts.cases.length} cases × 3 targets, ${opts.warmupS} s warm-up + ${opts.durationS} s each)`);
  return runBench('large', { budgetS, pin: opts.pin }, async ({ children, tmpDir, pinning }) => {
    const startedAt = new Date();
    const host = machine();
    if (host.loadAverageAtStart > 0.5) log(`! load average ${host.loadAverageAtStart} at start: other processes are using the CPUs, expect noisy numbers`);
    const conversation = buildConversation(opts.kib * 1024);
    const decision = tokenDecision(conversation);
    log(
      `conversation: ${conversation.turns.length} turns, ${Math.round(conversation.bytes / 1024)} KiB of text, ${decision.tokens} tokens (o200k); ` +
        `longContext decision (threshold ${THRESHOLD}) ${decision.exceedsMs} ms → ${decision.decidedLong ? 'long' : 'not long'}; a full count ${decision.fullCountMs} ms`,
    );
    const profileDir = opts.profile ? join(tmpDir, 'profile') : undefined;
    const stack = await startScaleStack(children, {
      tmpDir,
      pinning,
      gatewayProfileDir: profileDir,
      mockArgs: ['--tokens', '24'],
      configure: (config) => {
        config.models.push({ name: 'claude-long', deployments: [{ provider: 'ant', model: 'upstream-claude-long' }] });
        config.routes.longContext = 'claude-long';
      },
    });
    log(`mock ${stack.mockUrl}, floor ${stack.floorUrl ?? '-'}, switchyard ${stack.gatewayUrl}; gateway server.bodyLimit: default (32 MiB)`);
    log('');
    const counter = { n: 0 };
    const results: CaseResult[] = [];
    let failures = 0;
    for (const c of cases(conversation, opts.cases)) {
      const { result, failures: f } = await measureCase(stack, c, opts, counter);
      results.push(result);
      failures += f;
    }
    const worst = results.length === 0 ? null : Math.max(...results.map((r) => r.switchyardMinusDirect.p50Ms));
    const result = {
      kind: 'large',
      version: 1,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: host,
      pinning,
      options: { quick: opts.quick, profiled: opts.profile, durationS: opts.durationS, warmupS: opts.warmupS, rounds: opts.rounds, kib: opts.kib, cases: opts.cases, pipeline: 'full', gitCommit: gitCommit() },
      conversation: { turns: conversation.turns.length, textBytes: conversation.bytes, tokens: decision.tokens },
      tokenDecision: { threshold: THRESHOLD, exceedsMs: decision.exceedsMs, fullCountMs: decision.fullCountMs, decidedLong: decision.decidedLong },
      bodyLimit: { configured: 'default', defaultBytes: 33_554_432 },
      cases: results,
      goal: { addedMs: GOAL_ADDED_MS, worstSwitchyardMinusDirectP50Ms: worst, met: worst !== null && worst < GOAL_ADDED_MS && failures === 0 },
      failures,
    };
    const file = writeResult('large', startedAt, result, opts.out);
    log('');
    log('case            direct p50/p99 ms   floor − direct p50/p99   switchyard − direct p50/p99');
    for (const r of results) {
      const d = r.targets.direct;
      log(
        `${r.id.padEnd(14)} ${`${d.p50Ms.toFixed(2)} / ${d.p99Ms.toFixed(2)}`.padStart(17)}   ${`${r.floorMinusDirect.p50Ms.toFixed(2)} / ${r.floorMinusDirect.p99Ms.toFixed(2)}`.padStart(20)}   ${`${r.switchyardMinusDirect.p50Ms.toFixed(2)} / ${r.switchyardMinusDirect.p99Ms.toFixed(2)}`.padStart(24)}`,
      );
    }
    log(`goal: Switchyard adds < ${GOAL_ADDED_MS} ms at p50 on a ${Math.round(decision.tokens / 1000)}k-token request: ${result.goal.met ? 'MET' : 'NOT MET'} (worst ${worst} ms)`);
    if (failures > 0) log(`!!!!!!!! ${failures} requests failed`);
    log(`results: ${file}`);
    if (profileDir !== undefined) {
      // The profile is written when the gateway exits: stop it gracefully first.
      await children.stop('gateway', 15_000);
      const name = existsSync(profileDir) ? readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile')) : undefined;
      if (name === undefined) log('!!! the gateway wrote no .cpuprofile');
      else {
        const kept = join(repoRoot, 'bench/results', `large-gateway-${startedAt.toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
        copyFileSync(join(profileDir, name), kept);
        log('');
        log(`Switchyard CPU profile (${kept}):`);
        log(formatSummary(summariseProfile(readProfile(kept)), 30));
      }
    }
    return failures === 0 ? 0 : 1;
  });
}

runScript('bench:large failed', () => main(process.argv.slice(2)));
