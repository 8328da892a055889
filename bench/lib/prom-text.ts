/**
 * A small reader of the Prometheus text format (the gateway's /metrics): samples
 * with their labels, and a check that counters only went up between two scrapes.
 * Used by the bench (under load) and by the observability tests.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseProm(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (m === null) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_x, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return samples;
}

/** Families declared with `# TYPE`: name → type. */
export function declaredTypes(text: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(m[1] as string, m[2] as string);
  return types;
}

/** Sum of the samples named `name` whose labels include `match`. */
export function total(samples: readonly Sample[], name: string, match: Record<string, string> = {}): number {
  let sum = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}

export async function scrape(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; samples: Sample[]; contentType: string | null }> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return { status: res.status, text, samples: res.status === 200 ? parseProm(text) : [], contentType: res.headers.get('content-type') };
}

/** Samples that only ever go up: counters, and histogram buckets, sums and counts. */
function monotonic(text: string, samples: readonly Sample[]): Map<string, number> {
  const types = declaredTypes(text);
  const out = new Map<string, number>();
  for (const s of samples) {
    const family = s.name.replace(/_(bucket|sum|count)$/, '');
    const type = types.get(s.name) ?? types.get(family);
    const counter = type === 'counter' || (type === 'histogram' && family !== s.name);
    if (!counter) continue;
    const labels = Object.entries(s.labels)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(',');
    out.set(`${s.name}{${labels}}`, s.value);
  }
  return out;
}

export interface CounterComparison {
  /** Counter series in the first scrape. */
  series: number;
  /** Series that went down or disappeared between the scrapes: must be empty. */
  decreased: string[];
}

/** Compares two scrapes of one gateway: every counter of the first must be there in the second, not lower. */
export function compareCounters(before: { text: string; samples: readonly Sample[] }, after: { text: string; samples: readonly Sample[] }): CounterComparison {
  const a = monotonic(before.text, before.samples);
  const b = monotonic(after.text, after.samples);
  const decreased: string[] = [];
  for (const [series, value] of a) {
    const later = b.get(series);
    if (later === undefined || later < value) decreased.push(`${series}: ${value} -> ${later ?? 'gone'}`);
  }
  return { series: a.size, decreased };
}
