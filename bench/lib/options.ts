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
  /** The usage ledger (SQLite file) and the dashboard's recorder; off only to measure what each costs. */
  gatewayLedger: boolean;
  gatewayDashboard: boolean;
  /** 'full': auth with a real key, rate limits, budgets (priced models), ledger, metrics, logs; 'open': no key, no limits. */
  pipeline: 'full' | 'open';
  /** Where the JSON goes; default bench/results/<timestamp>.json. */
  out: string | undefined;
  /** Shapes measured again open loop at a constant rate (empty: skipped); always among `shapes`. */
  rateShapes: Shape[];
  /** --rate: one rate for every shape; undefined: rateFraction × the shape's lowest closed-loop throughput. */
  ratePerS: number | undefined;
  rateFraction: number;
  /** Measured open-loop seconds per target and shape, split over `rounds`. */
  rateDurationS: number;
  /** Discarded open-loop run per target before the measured ones. */
  rateWarmupS: number;
  /** Bound on requests in flight (and connections) per target in the open-loop runs. */
  maxInFlight: number;
  /** The ramp on the floor and Switchyard, or undefined to skip it. */
  ramp: { shape: Shape; p99ThresholdMs: number; stepS: number; maxSteps: number } | undefined;
  /** Sample the floor's and the gateway's memory and wait `idleS` after the load for the idle figures. */
  memory: boolean;
  idleS: number;
}

export const usage = `Usage: npm run bench -- [options]     (or: node bench/run.ts [options])

  --quick                 short runs (about 1½ minutes in all; a full run takes about 5)
  --duration S            measured seconds per target and shape (default 7, quick 1.5)
  --warmup S              seconds of warm-up per target before each shape (default 2, quick 0.75)
  --initial-warmup S      seconds of load through every shape and target at start (default 30, quick 4)
  --rounds N              interleave the targets in N rounds per shape (default 3, quick 1)
  --connections N         closed-loop connections (default 32)
  --tokens N              words per mock reply (default 24)
  --shapes a,b            only these shapes (default all): ${shapes.map((s) => s.id).join(', ')}
  --latency-shape ID      shape of the concurrency-1 added-latency runs (default anthropic-stream; "none" skips)
  --rate-latency all|none|a,b  shapes measured open loop at a constant rate (default all the measured shapes)
  --rate N                the constant rate, req/s (default: --rate-fraction × the shape's lowest closed-loop req/s)
  --rate-fraction F       default 0.45
  --rate-duration S       measured open-loop seconds per target and shape (default 3, quick 0.6)
  --in-flight N           open loop: at most N requests in flight per target (default 64)
  --no-ramp               skip the ramp
  --ramp-shape ID         shape of the ramp on floor and Switchyard (default anthropic-stream)
  --ramp-p99-ms MS        a ramp step is sustained while p99 stays at or under this (default 20)
  --ramp-step S           seconds per ramp step (default 1.5, quick 0.5)
  --ramp-steps N          at most N steps per target (default 10, quick 7)
  --no-memory             skip the memory figures (and the idle wait after the load)
  --idle S                seconds idle after the load before the idle memory figures (default 3, quick 2)
  --gateway-log-level L   the gateway's log level (default info, as configured in production)
  --gateway-metrics on|off  the gateway's /metrics (default on, as configured by default); off to measure what metrics cost
  --gateway-ledger on|off   the usage ledger (default on); off to measure what recording usage costs
  --gateway-dashboard on|off  the dashboard and its traffic recorder (default on); off to measure what it costs
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
      'gateway-ledger': { type: 'string', default: 'on' },
      'gateway-dashboard': { type: 'string', default: 'on' },
      pipeline: { type: 'string', default: 'full' },
      profile: { type: 'boolean', default: false },
      'no-pin': { type: 'boolean', default: false },
      out: { type: 'string' },
      'rate-latency': { type: 'string', default: 'all' },
      rate: { type: 'string' },
      'rate-fraction': { type: 'string' },
      'rate-duration': { type: 'string' },
      'in-flight': { type: 'string' },
      'no-ramp': { type: 'boolean', default: false },
      'ramp-shape': { type: 'string', default: 'anthropic-stream' },
      'ramp-p99-ms': { type: 'string' },
      'ramp-step': { type: 'string' },
      'ramp-steps': { type: 'string' },
      'no-memory': { type: 'boolean', default: false },
      idle: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const quick = values.quick;
  const durationS = positive('duration', values.duration, quick ? 1.5 : 7, false);
  const warmupS = positive('warmup', values.warmup, quick ? 0.75 : 2, false);
  const initialWarmupS = positive('initial-warmup', values['initial-warmup'], quick ? 4 : 30, false);
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
  const onOff = (flag: 'gateway-metrics' | 'gateway-ledger' | 'gateway-dashboard'): boolean => {
    const value = values[flag];
    if (value !== 'on' && value !== 'off') throw new Error(`--${flag} must be on or off, got '${value}'`);
    return value === 'on';
  };
  const gatewayMetrics = onOff('gateway-metrics');
  const gatewayLedger = onOff('gateway-ledger');
  const gatewayDashboard = onOff('gateway-dashboard');
  const pipeline = values.pipeline;
  if (pipeline !== 'full' && pipeline !== 'open') throw new Error(`--pipeline must be full or open, got '${pipeline}'`);

  let rateShapes: Shape[] = [];
  const rateList = values['rate-latency'];
  if (rateList === 'all') rateShapes = selected;
  else if (rateList !== 'none') {
    rateShapes = rateList.split(',').map((id) => {
      const shape = selected.find((s) => s.id === id.trim());
      if (shape === undefined) throw new Error(`--rate-latency: '${id}' is not among the measured shapes (${selected.map((s) => s.id).join(', ')})`);
      return shape;
    });
  }
  const ratePerS = values.rate === undefined ? undefined : positive('rate', values.rate, 1, false);
  if (ratePerS !== undefined && ratePerS > 100_000) throw new Error('--rate is limited to 100000 req/s');
  const rateFraction = positive('rate-fraction', values['rate-fraction'], 0.45, false);
  if (rateFraction > 1) throw new Error('--rate-fraction must be at most 1');
  const rateDurationS = positive('rate-duration', values['rate-duration'], quick ? 0.6 : 3, false);
  const maxInFlight = positive('in-flight', values['in-flight'], 64, true);
  if (rateDurationS > 600 || maxInFlight > 1024) throw new Error('--rate-duration is limited to 600 s, --in-flight to 1024');

  let ramp: BenchOptions['ramp'];
  if (!values['no-ramp']) {
    const shape = findShape(values['ramp-shape']);
    if (shape === undefined) throw new Error(`unknown --ramp-shape '${values['ramp-shape']}'`);
    const p99ThresholdMs = positive('ramp-p99-ms', values['ramp-p99-ms'], 20, false);
    const stepS = positive('ramp-step', values['ramp-step'], quick ? 0.5 : 1.5, false);
    const maxSteps = positive('ramp-steps', values['ramp-steps'], quick ? 7 : 10, true);
    if (stepS > 60 || maxSteps > 30) throw new Error('--ramp-step is limited to 60 s, --ramp-steps to 30');
    ramp = { shape, p99ThresholdMs, stepS, maxSteps };
  }
  const idleS = positive('idle', values.idle, quick ? 2 : 3, false);
  if (idleS > 60) throw new Error('--idle is limited to 60 s');

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
    gatewayMetrics,
    gatewayLedger,
    gatewayDashboard,
    pipeline,
    out: values.out,
    rateShapes,
    ratePerS,
    rateFraction,
    rateDurationS,
    rateWarmupS: quick ? 0.2 : 0.3,
    maxInFlight,
    ramp,
    memory: !values['no-memory'],
    idleS,
  };
}

/** The ramp starts at this fraction of the floor's closed-loop throughput, growing by RAMP_GROWTH per step. */
export const RAMP_START_FRACTION = 0.3;
export const RAMP_GROWTH = 1.25;
/** Closed-loop floor run that sets the ramp's start when the ramp shape is not measured closed loop. */
export const RAMP_CALIBRATION_S = 1;

/** Planned wall time, seconds: what the watchdog allows for (with margin). */
export function plannedSeconds(o: BenchOptions): number {
  const groups = o.shapes.length + (o.latencyShape === undefined ? 0 : 1);
  // Per autocannon run: up to one 100 ms sample tick late, plus connection set-up.
  const perTarget = o.durationS + o.warmupS + (o.rounds + 1) * 0.15;
  const closedLoop = groups * 3 * perTarget + o.initialWarmupS + 10;
  // Open loop: the warm-up and every round of every target, each waiting for its last responses.
  const rate = o.rateShapes.length * 3 * (o.rateWarmupS + o.rateDurationS + (o.rounds + 1) * 0.1);
  const calibration = o.ramp === undefined || o.shapes.includes(o.ramp.shape) ? 0 : RAMP_CALIBRATION_S + 1;
  const ramp = o.ramp === undefined ? 0 : 2 * (Math.min(0.5, o.ramp.stepS) + o.ramp.maxSteps * (o.ramp.stepS + 0.15)) + calibration;
  const memory = o.memory ? o.idleS + 1 : 0;
  return closedLoop + rate + ramp + memory;
}
