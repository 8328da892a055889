/**
 * The project's performance goals, checked against one bench result. A goal
 * is met only when its figure is reached and no request failed in the run;
 * it is "not measured" (met: null) when the run did not measure its figure.
 * Goals never change the bench's exit status: only failed requests do.
 */
import type { BenchResult, Goal } from './result.ts';

export const ISSUE2_PASSTHROUGH = 0.7;
export const ISSUE6_PASSTHROUGH = 0.8;
export const ISSUE6_PASSTHROUGH_CPU = 1.3;
export const ISSUE6_TRANSLATED_TOOLS = 0.5;
export const ISSUE6_TOOLS_SHAPE = 'anthropic-to-openai-stream-tools';
export const ISSUE6_ADDED_P50_MS = 0.25;
export const ISSUE6_ADDED_P99_MS = 1;

type Input = Pick<BenchResult, 'shapes' | 'addedLatency' | 'failures'> & {
  options: Pick<BenchResult['options'], 'pipeline' | 'gatewayMetrics' | 'gatewayLedger' | 'gatewayDashboard'>;
};

const x = (n: number): string => `${n.toFixed(2)}×`;
const ms = (n: number): string => `${n >= 0 ? '+' : ''}${n.toFixed(3)} ms`;

function judged(id: string, issue: number, text: string, reached: boolean | null, detail: string, failures: number): Goal {
  if (reached === null) return { id, issue, text, met: null, detail };
  const voided = reached && failures > 0;
  return { id, issue, text, met: reached && failures === 0, detail: voided ? `${detail}; reached, but requests failed` : detail };
}

export function evaluateGoals(r: Input): Goal[] {
  const goals: Goal[] = [];
  const passthrough = r.shapes.filter((s) => s.passthrough);
  const each = (pick: (s: (typeof passthrough)[number]) => number | undefined): string =>
    passthrough.map((s) => `${s.id} ${pick(s) === undefined ? '-' : x(pick(s) as number)}`).join(', ');
  const lowest = passthrough.length === 0 ? undefined : Math.min(...passthrough.map((s) => s.ratios.switchyardOverFloor));

  goals.push(
    lowest === undefined
      ? judged('issue2-passthrough', 2, `passthrough throughput ≥ ${ISSUE2_PASSTHROUGH}× the floor`, null, 'not measured: no passthrough shape in this run', r.failures)
      : judged('issue2-passthrough', 2, `passthrough throughput ≥ ${ISSUE2_PASSTHROUGH}× the floor`, lowest >= ISSUE2_PASSTHROUGH, `lowest ${x(lowest)} (${each((s) => s.ratios.switchyardOverFloor)})`, r.failures),
  );

  const missing = [
    r.options.pipeline === 'full' ? undefined : '--pipeline open',
    r.options.gatewayMetrics === false ? '--gateway-metrics off' : undefined,
    r.options.gatewayLedger === false ? '--gateway-ledger off' : undefined,
    r.options.gatewayDashboard === false ? '--gateway-dashboard off' : undefined,
  ].filter((flag) => flag !== undefined);
  const fullPipeline = missing.length === 0;
  const openNote = `not measured: the gateway ran with ${missing.join(', ')}; the goal is for the full pipeline`;
  const throughputText = `passthrough throughput, full pipeline, ≥ ${ISSUE6_PASSTHROUGH}× the floor`;
  if (!fullPipeline) goals.push(judged('issue6-passthrough', 6, throughputText, null, openNote, r.failures));
  else if (lowest === undefined) goals.push(judged('issue6-passthrough', 6, throughputText, null, 'not measured: no passthrough shape in this run', r.failures));
  else goals.push(judged('issue6-passthrough', 6, throughputText, lowest >= ISSUE6_PASSTHROUGH, `lowest ${x(lowest)} (${each((s) => s.ratios.switchyardOverFloor)})`, r.failures));

  const cpuText = `passthrough CPU per request, full pipeline, ≤ ${ISSUE6_PASSTHROUGH_CPU}× the floor's`;
  const cpuRatios = passthrough.map((s) => s.ratios.cpuSwitchyardOverFloor).filter((n): n is number => n !== undefined);
  if (!fullPipeline) goals.push(judged('issue6-passthrough-cpu', 6, cpuText, null, openNote, r.failures));
  else if (cpuRatios.length === 0 || cpuRatios.length < passthrough.length) {
    goals.push(judged('issue6-passthrough-cpu', 6, cpuText, null, 'not measured: no passthrough shape, or CPU time not readable (/proc)', r.failures));
  } else {
    const highest = Math.max(...cpuRatios);
    goals.push(judged('issue6-passthrough-cpu', 6, cpuText, highest <= ISSUE6_PASSTHROUGH_CPU, `highest ${x(highest)} (${each((s) => s.ratios.cpuSwitchyardOverFloor)})`, r.failures));
  }

  const tools = r.shapes.find((s) => s.id === ISSUE6_TOOLS_SHAPE);
  const toolsText = `translated streaming with tool calls (${ISSUE6_TOOLS_SHAPE}) throughput ≥ ${ISSUE6_TRANSLATED_TOOLS}× the floor`;
  goals.push(
    tools === undefined
      ? judged('issue6-translated-tools', 6, toolsText, null, 'not measured: shape not in this run', r.failures)
      : judged('issue6-translated-tools', 6, toolsText, tools.ratios.switchyardOverFloor >= ISSUE6_TRANSLATED_TOOLS, x(tools.ratios.switchyardOverFloor), r.failures),
  );

  const a = r.addedLatency;
  const p50Text = `added latency at concurrency 1, p50 < ${ISSUE6_ADDED_P50_MS} ms above direct`;
  const p99Text = `added latency at concurrency 1, p99 < ${ISSUE6_ADDED_P99_MS} ms above direct`;
  if (a === undefined) {
    goals.push(judged('issue6-added-p50', 6, p50Text, null, 'not measured: --latency-shape none', r.failures));
    goals.push(judged('issue6-added-p99', 6, p99Text, null, 'not measured: --latency-shape none', r.failures));
  } else {
    const p50 = a.switchyardMinusDirect.p50Ms;
    const p99 = a.switchyardMinusDirect.p99Ms;
    goals.push(judged('issue6-added-p50', 6, p50Text, p50 < ISSUE6_ADDED_P50_MS, `${ms(p50)} (${a.shape}; floor ${ms(a.floorMinusDirect.p50Ms)})`, r.failures));
    goals.push(judged('issue6-added-p99', 6, p99Text, p99 < ISSUE6_ADDED_P99_MS, `${ms(p99)} (${a.shape}; floor ${ms(a.floorMinusDirect.p99Ms)})`, r.failures));
  }
  return goals;
}

export function formatGoal(g: Goal): string {
  const verdict = g.met === null ? 'not measured' : g.met ? 'MET' : 'NOT MET';
  return `  issue ${g.issue}: ${g.text}: ${verdict} (${g.detail.replace(/^not measured: /, '')})`;
}
