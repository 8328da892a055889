/** `npm run bench` flags, validated, with the defaults that keep a run inside its time budget. */
import { parseArgs } from 'node:util';
import { findShape, shapes, type Shape } from './shapes.ts';

export interface BenchOptions {
  quick: boolean;
  durationS: number;
  warmupS: number;
  /** Load through every shape and target once at start, seconds in all: the gateway's JIT needs several seconds of traffic. */
  initialWarmupS: number;
  /** The measured time per target is split into this many interleaved runs. */
  rounds: number;
  connections: number;
  outputTokens: number;
  shapes: Shape[];
  /** Shape of the concurrency-1 latency runs, or undefined to skip them. */
  latencyShape: Shape | undefined;
  pin: boolean;
  profile: boolean;
  gatewayLogLevel: string;
  /** The gateway's Prometheus metrics (`metrics.enabled`); on by default, as in production. */
  gatewayMetrics: boolean;
  /** 'full': auth with a real key, rate limits, budgets (priced models), ledger, metrics, logs; 'open': no key, no limits. */
  pipeline: 'full' | 'open';
  /** Where the JSON goes; default bench/results/<timestamp>.json. */
  out: string | undefined;
}

export const usage = `Usage: npm run bench -- [options]     (or: node bench/run.ts [options])

  --quick                 short runs (about 1 minute in all)
  --duration S            measured seconds per target and shape (default 7, quick 1.5)
  --warmup S              seconds of warm-up per target before each shape (default 2, quick 0.75)
  --initial-warmup S      seconds of load through every shape and target at start (default 12, quick 4)
  --rounds N              interleave the targets in N rounds per shape (default 3, quick 1)
  --connections N         closed-loop connections (default 32)
  --tokens N              words per mock reply (default 24)
  --shapes a,b            only these shapes (default all): ${shapes.map((s) => s.id).join(', ')}
  --latency-shape ID      shape of the concurrency-1 added-latency runs (default anthropic-stream; "none" skips)
  --gateway-log-level L   the gateway's log level (default info, as configured in production)
  --gateway-metrics on|off  the gateway's /metrics (default on, as configured by default); off to measure what metrics cost
  --pipeline full|open    full (default): the gateway authenticates a real key and applies rate limits and budgets
                          (never reached) on priced models, besides the ledger, metrics and logs; open: no key, no limits
  --profile               run the gateway and the floor with --cpu-prof; print their top self-time functions
  --no-pin                do not pin processes to CPUs with taskset
  --out FILE              write the JSON result here instead of bench/results/<timestamp>.json
  -h, --help
`;

function positive(flag: string, raw: string | undefined, fallback: number, integer: boolean): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new Error(`--${flag} must be a positive ${integer ? 'integer' : 'number'}, got '${raw}'`);
  }
  return value;
}

export function parseBenchArgs(argv: string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      quick: { type: 'boolean', default: false },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      'initial-warmup': { type: 'string' },
      connections: { type: 'string' },
      rounds: { type: 'string' },
      tokens: { type: 'string' },
      shapes: { type: 'string' },
      'latency-shape': { type: 'string' },
      'gateway-log-level': { type: 'string', default: 'info' },
      'gateway-metrics': { type: 'string', default: 'on' },
      pipeline: { type: 'string', default: 'full' },
      profile: { type: 'boolean', default: false },
      'no-pin': { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const quick = values.quick;
  const durationS = positive('duration', values.duration, quick ? 1.5 : 7, false);
  const warmupS = positive('warmup', values.warmup, quick ? 0.75 : 2, false);
  const initialWarmupS = positive('initial-warmup', values['initial-warmup'], quick ? 4 : 12, false);
  if (durationS > 600 || warmupS > 600 || initialWarmupS > 600) throw new Error('--duration, --warmup and --initial-warmup are limited to 600 s');
  const rounds = positive('rounds', values.rounds, quick ? 1 : 3, true);
  if (rounds > 20) throw new Error('--rounds is limited to 20');
  const connections = positive('connections', values.connections, 32, true);
  if (connections > 1024) throw new Error('--connections is limited to 1024');
  const outputTokens = positive('tokens', values.tokens, 24, true);

  let selected: Shape[] = [...shapes];
  if (values.shapes !== undefined) {
    selected = values.shapes.split(',').map((id) => {
      const shape = findShape(id.trim());
      if (shape === undefined) throw new Error(`unknown shape '${id}'; known: ${shapes.map((s) => s.id).join(', ')}`);
      return shape;
    });
  }
  const latencyId = values['latency-shape'] ?? 'anthropic-stream';
  let latencyShape: Shape | undefined;
  if (latencyId !== 'none') {
    latencyShape = findShape(latencyId);
    if (latencyShape === undefined) throw new Error(`unknown --latency-shape '${latencyId}'`);
  }
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  const gatewayLogLevel = values['gateway-log-level'];
  if (!levels.includes(gatewayLogLevel)) throw new Error(`--gateway-log-level must be one of ${levels.join(', ')}`);
  const metricsFlag = values['gateway-metrics'];
  if (metricsFlag !== 'on' && metricsFlag !== 'off') throw new Error(`--gateway-metrics must be on or off, got '${metricsFlag}'`);
  const pipeline = values.pipeline;
  if (pipeline !== 'full' && pipeline !== 'open') throw new Error(`--pipeline must be full or open, got '${pipeline}'`);
  return {
    quick,
    durationS,
    warmupS,
    initialWarmupS,
    rounds,
    connections,
    outputTokens,
    shapes: selected,
    latencyShape,
    pin: !values['no-pin'],
    profile: values.profile,
    gatewayLogLevel,
    gatewayMetrics: metricsFlag === 'on',
    pipeline,
    out: values.out,
  };
}

/** Planned wall time, seconds: what the watchdog allows for (with margin). */
export function plannedSeconds(o: BenchOptions): number {
  const groups = o.shapes.length + (o.latencyShape === undefined ? 0 : 1);
  // Per autocannon run: up to one 100 ms sample tick late, plus connection set-up.
  const perTarget = o.durationS + o.warmupS + (o.rounds + 1) * 0.15;
  return groups * 3 * perTarget + o.initialWarmupS + 10;
}
