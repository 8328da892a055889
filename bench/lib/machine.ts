/** The machine a result was measured on, and reading result files back: shared by every bench script and result format. */
import { readFileSync } from 'node:fs';
import { arch, cpus, loadavg, release, totalmem, type } from 'node:os';
import { z } from 'zod';

/** The host, as every result file records it; each format adds how busy the machine was at start. */
export const hostSchema = z.object({
  cpus: z.number(),
  cpuModel: z.string(),
  node: z.string(),
  os: z.string(),
  totalMemoryGiB: z.number(),
});

export const machineSchema = hostSchema.extend({
  /** 1-minute load average at start: above ~0.5 something else is using the CPUs. */
  loadAverageAtStart: z.number(),
});

export type Machine = z.infer<typeof machineSchema>;

/** Load averages rounded to 2 decimals: 1, 5 and 15 minutes. */
export function loadAverages(): number[] {
  return loadavg().map((l) => Math.round(l * 100) / 100);
}

export function machine(): Machine {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    node: process.version,
    os: `${type()} ${release()} ${arch()}`,
    totalMemoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadAverageAtStart: loadAverages()[0] ?? 0,
  };
}

/** Reads a JSON result file and validates it against `schema`; throws with every problem listed. */
export function readValidated<S extends z.ZodType>(file: string, schema: S, kind: string): z.infer<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not readable JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n');
    throw new Error(`${file}: not ${kind}:\n${problems}`);
  }
  return parsed.data;
}
