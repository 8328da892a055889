/**
 * The pure parts of `npm run bench:ab` (bench/ab.ts): its options and how
 * the rounds are summed up.
 */
import { parseArgs } from 'node:util';
import { numberFlag } from './harness.ts';
import { findShape, shapes, type Shape } from './shapes.ts';

export const abUsage = `Usage: npm run bench:ab -- [options]     (or: node bench/ab.ts [options])

Compares the gateway of this working tree with the gateway of another commit
(default HEAD: what the uncommitted changes do), both under the same load at
the same moment, in rounds; reports each one's CPU time per request and the ratio.

  --base REF            the commit to compare with (default HEAD)
  --shapes a,b          shapes to run (default anthropic-stream,openai-json): ${shapes.map((s) => s.id).join(', ')}
  --rounds N            rounds per shape (default 8)
  --requests N          requests per gateway per round (default 5000)
  --connections N       connections per gateway (default 16)
  --no-pin              do not pin processes to CPUs with taskset
  --out FILE            write the JSON result here instead of bench/results/ab-<timestamp>.json
  -h, --help
`;

export interface AbOptions {
  base: string;
  shapes: Shape[];
  rounds: number;
  requests: number;
  connections: number;
  pin: boolean;
  out: string | undefined;
}

export function parseAbOptions(argv: string[]): AbOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      base: { type: 'string', default: 'HEAD' },
      shapes: { type: 'string', default: 'anthropic-stream,openai-json' },
      rounds: { type: 'string' },
      requests: { type: 'string' },
      connections: { type: 'string' },
      'no-pin': { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  if (values.base.trim() === '' || values.base.startsWith('-')) throw new Error(`--base must name a commit, got '${values.base}'`);
  const selected = values.shapes.split(',').map((id) => {
    const shape = findShape(id.trim());
    if (shape === undefined) throw new Error(`--shapes: unknown shape '${id}' (${shapes.map((s) => s.id).join(', ')})`);
    return shape;
  });
  return {
    base: values.base,
    shapes: selected,
    rounds: numberFlag('rounds', values.rounds, 8, { max: 100, integer: true }),
    requests: numberFlag('requests', values.requests, 5000, { min: 99, max: 1_000_000, integer: true }),
    connections: numberFlag('connections', values.connections, 16, { max: 512, integer: true }),
    pin: !values['no-pin'],
    out: values.out,
  };
}

export interface RatioSummary {
  median: number;
  mean: number;
  min: number;
  max: number;
  /** Rounds where this tree was the cheaper one. */
  cheaperRounds: number;
  verdict: string;
}

/**
 * Sums up the per-round ratios (this tree's CPU per request ÷ the base's).
 * The verdict names a difference only when most rounds agree on its sign:
 * one disturbed round must not make a change look like a gain.
 */
export function summariseRatios(ratios: readonly number[]): RatioSummary {
  if (ratios.length === 0) throw new Error('no rounds to sum up');
  const sorted = [...ratios].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median = sorted.length % 2 === 1 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length;
  const cheaperRounds = ratios.filter((r) => r < 1).length;
  const percent = Math.abs(1 - median) * 100;
  const agree = Math.max(cheaperRounds, ratios.length - cheaperRounds) / ratios.length;
  let verdict: string;
  if (percent < 1 || agree < 0.75) verdict = `no difference this run can resolve (median ${median.toFixed(3)}, ${cheaperRounds} of ${ratios.length} rounds cheaper)`;
  else verdict = `this tree uses ${percent.toFixed(1)}% ${median < 1 ? 'less' : 'more'} CPU per request (median ${median.toFixed(3)}, ${median < 1 ? cheaperRounds : ratios.length - cheaperRounds} of ${ratios.length} rounds agree)`;
  return { median, mean, min: sorted[0]!, max: sorted.at(-1)!, cheaperRounds, verdict };
}
