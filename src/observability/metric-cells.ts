/**
 * Counters and histograms whose label-bound cells are plain objects, found
 * once and then updated with a few number writes: the per-request cost of
 * metrics is a handful of Map lookups and additions. prom-client's own
 * `labels(...).inc()` hashes the label values into a string on every call,
 * so the hot path keeps its numbers here and only the scrape renders text
 * (in the Prometheus exposition format, version 0.0.4).
 */

export interface CounterCell {
  value: number;
}

export interface HistogramCell {
  /** Per bucket (not cumulative); the last slot is +Inf. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/** The value every label takes for the label sets past a family's cap. */
export const OVERFLOW_LABEL = '_other';

/** Prometheus label value escaping: backslash, double quote and newline. */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

function renderLabels(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return '';
  return names.map((name, i) => `${name}="${escapeLabelValue(values[i] ?? '')}"`).join(',');
}

interface Series<C> {
  readonly values: readonly string[];
  /** `a="x",b="y"`, rendered once when the series is created. */
  readonly labels: string;
  readonly cell: C;
}

/**
 * A metric family: a name, its label names and one cell per label set, in a
 * tree of Maps (one level per label) so a lookup never builds a key string.
 */
abstract class Family<C> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly #root = new Map<string, unknown>();
  readonly #series: Array<Series<C>> = [];
  readonly #maxSeries: number;
  #overflow: C | undefined;

  constructor(name: string, help: string, labelNames: readonly string[], maxSeries: number) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
    this.#maxSeries = maxSeries;
  }

  protected abstract newCell(): C;

  /** The cell for these label values (same order as `labelNames`), created on first use. */
  cell(...values: string[]): C {
    let node = this.#root;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      const key = values[i] as string;
      let next = node.get(key) as Map<string, unknown> | undefined;
      if (next === undefined) {
        if (this.#series.length >= this.#maxSeries) return this.#overflowCell();
        next = new Map();
        node.set(key, next);
      }
      node = next;
    }
    const key = last < 0 ? '' : (values[last] as string);
    const found = node.get(key) as C | undefined;
    if (found !== undefined) return found;
    if (this.#series.length >= this.#maxSeries) return this.#overflowCell();
    const cell = this.newCell();
    node.set(key, cell);
    this.#series.push({ values: Object.freeze([...values]), labels: renderLabels(this.labelNames, values), cell });
    return cell;
  }

  #overflowCell(): C {
    if (this.#overflow === undefined) {
      this.#overflow = this.newCell();
      const values = this.labelNames.map(() => OVERFLOW_LABEL);
      this.#series.push({ values, labels: renderLabels(this.labelNames, values), cell: this.#overflow });
    }
    return this.#overflow;
  }

  /** Every label set recorded so far, oldest first. */
  series(): ReadonlyArray<Series<C>> {
    return this.#series;
  }

  abstract render(out: string[]): void;
}

export class CounterFamily extends Family<CounterCell> {
  protected newCell(): CounterCell {
    return { value: 0 };
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`);
    for (const { labels, cell } of this.series()) out.push(`${this.name}${labels === '' ? '' : `{${labels}}`} ${cell.value}`);
  }
}

export class HistogramFamily extends Family<HistogramCell> {
  /** Upper bounds, ascending, without +Inf. */
  readonly bounds: Float64Array;
  readonly #le: readonly string[];

  constructor(name: string, help: string, labelNames: readonly string[], bounds: readonly number[], maxSeries: number) {
    super(name, help, labelNames, maxSeries);
    this.bounds = Float64Array.from(bounds);
    this.#le = [...bounds.map(String), '+Inf'];
  }

  protected newCell(): HistogramCell {
    return { counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
  }

  /** Adds one observation to a cell of this family. */
  observe(cell: HistogramCell, value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    cell.counts[i] = (cell.counts[i] as number) + 1;
    cell.sum += value;
    cell.count++;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const { labels, cell } of this.series()) {
      const prefix = labels === '' ? '' : `${labels},`;
      let cumulative = 0;
      for (let i = 0; i < this.#le.length; i++) {
        cumulative += cell.counts[i] as number;
        out.push(`${this.name}_bucket{${prefix}le="${this.#le[i]}"} ${cumulative}`);
      }
      const braces = labels === '' ? '' : `{${labels}}`;
      out.push(`${this.name}_sum${braces} ${cell.sum}`, `${this.name}_count${braces} ${cell.count}`);
    }
  }
}

/** A value read at scrape time (breaker state, queue depth, pool connections). */
export interface GaugeSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Renders a gauge (or a counter kept elsewhere) from samples taken at scrape time. */
export function renderSampled(out: string[], name: string, help: string, type: 'gauge' | 'counter', samples: Iterable<GaugeSample>): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const { labels, value } of samples) {
    const names = Object.keys(labels);
    const rendered = renderLabels(
      names,
      names.map((n) => labels[n] as string),
    );
    out.push(`${name}${rendered === '' ? '' : `{${rendered}}`} ${value}`);
  }
}

/**
 * The value at quantile `q` (0–1) estimated from a histogram's buckets by
 * linear interpolation, as PromQL's histogram_quantile does. NaN when empty.
 */
export function quantileOf(bounds: Float64Array, counts: Float64Array, q: number): number {
  let total = 0;
  for (const c of counts) total += c;
  if (total === 0) return Number.NaN;
  const rank = q * total;
  let cumulative = 0;
  for (let i = 0; i < counts.length; i++) {
    const before = cumulative;
    cumulative += counts[i] as number;
    if (cumulative >= rank) {
      // Past the last bound nothing is known but that bound.
      if (i >= bounds.length) return bounds[bounds.length - 1] ?? Number.NaN;
      const upper = bounds[i] as number;
      const lower = i === 0 ? 0 : (bounds[i - 1] as number);
      const inBucket = counts[i] as number;
      return inBucket === 0 ? upper : lower + ((upper - lower) * (rank - before)) / inBucket;
    }
  }
  return bounds[bounds.length - 1] ?? Number.NaN;
}
