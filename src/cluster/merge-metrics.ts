/**
 * One Prometheus exposition from the expositions of several workers. Each
 * sample gets a `worker="N"` label, so every worker's series stays its own:
 * counters keep their meaning across a worker's restart (Prometheus sees that
 * series reset, not a sum that dropped), and gauges such as breaker state are
 * never summed into nonsense. `sum without (worker) (…)` gives the totals.
 *
 * The text format wants each metric family in one block with its HELP and
 * TYPE once, so samples are grouped by family in order of first appearance.
 */

export interface WorkerMetrics {
  readonly worker: number;
  readonly text: string;
}

interface Family {
  help?: string;
  type?: string;
  readonly samples: string[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

export function mergeWorkerMetrics(parts: readonly WorkerMetrics[]): string {
  const families = new Map<string, Family>();
  const familyOf = (name: string): Family => {
    let family = families.get(name);
    if (family === undefined) families.set(name, (family = { samples: [] }));
    return family;
  };
  for (const { worker, text } of parts) {
    // HELP and TYPE name the family; the samples after them (a histogram's _bucket, _sum, _count) belong to it.
    let current: string | undefined;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const header = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
      if (header !== null) {
        current = header[2]!;
        const family = familyOf(current);
        // The first worker's HELP and TYPE stand for all.
        if (header[1] === 'HELP') family.help ??= line;
        else family.type ??= line;
        continue;
      }
      if (line.startsWith('#')) continue;
      const name = METRIC_NAME.exec(line)?.[0];
      if (name === undefined) continue;
      familyOf(current ?? name).samples.push(withWorkerLabel(line, name, worker));
    }
  }
  const out: string[] = [];
  for (const family of families.values()) {
    if (family.help !== undefined) out.push(family.help);
    if (family.type !== undefined) out.push(family.type);
    out.push(...family.samples);
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

/** `name{a="b"} 1` → `name{worker="3",a="b"} 1`; `name 1` → `name{worker="3"} 1`. */
function withWorkerLabel(line: string, name: string, worker: number): string {
  const rest = line.slice(name.length);
  const label = `worker="${worker}"`;
  if (rest.startsWith('{}')) return `${name}{${label}}${rest.slice(2)}`;
  if (rest.startsWith('{')) return `${name}{${label},${rest.slice(1)}`;
  return `${name}{${label}}${rest}`;
}
