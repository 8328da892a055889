/**
 * Summarises a V8 .cpuprofile (what `node --cpu-prof` writes): self time per
 * function and per origin (a package, node internals, one of our files), so
 * "what dominates the gateway under load" is a few lines, not a flame graph.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const profileSchema = z.object({
  nodes: z.array(
    z.object({
      id: z.number(),
      callFrame: z.object({
        functionName: z.string(),
        url: z.string(),
        lineNumber: z.number(),
        columnNumber: z.number(),
      }),
    }),
  ),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
  startTime: z.number(),
  endTime: z.number(),
});

export type CpuProfile = z.infer<typeof profileSchema>;

export function readProfile(file: string): CpuProfile {
  const parsed = profileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error(`${file}: not a V8 CPU profile (${parsed.error.issues[0]?.message ?? 'invalid'})`);
  return parsed.data;
}

export interface SelfTime {
  name: string;
  where: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Time outside idle. */
  busyMs: number;
  functions: SelfTime[];
  origins: SelfTime[];
}

/** `node_modules/fastify/lib/x.js` → `fastify`, `node:internal/…` → `node:internal`, our files by path. */
export function originOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm !== -1) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') === true ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) return url.startsWith('node:internal') ? 'node:internal' : url;
  const src = url.indexOf('/src/');
  if (src !== -1) return url.slice(src + 1);
  const bench = url.indexOf('/bench/');
  return bench !== -1 ? url.slice(bench + 1) : url;
}

export function summariseProfile(profile: CpuProfile): ProfileSummary {
  const self = new Map<number, number>();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the time before sample i; it is charged to that sample's node.
    const id = samples[i] as number;
    self.set(id, (self.get(id) ?? 0) + (timeDeltas[i] ?? 0));
  }
  const byFunction = new Map<string, { name: string; where: string; us: number }>();
  const byOrigin = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const node of profile.nodes) {
    const us = self.get(node.id) ?? 0;
    if (us === 0) continue;
    totalUs += us;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') idleUs += us;
    const origin = originOf(url, functionName);
    const name = functionName === '' ? '(anonymous)' : functionName;
    const where = url === '' ? '' : `${origin}:${lineNumber + 1}`;
    const key = `${name}@${where}`;
    const entry = byFunction.get(key);
    if (entry === undefined) byFunction.set(key, { name, where, us });
    else entry.us += us;
    byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const share = (us: number): number => (busyUs === 0 ? 0 : us / busyUs);
  const functions = [...byFunction.values()]
    .filter((f) => f.name !== '(idle)')
    .sort((a, b) => b.us - a.us)
    .map((f) => ({ name: f.name, where: f.where, ms: f.us / 1000, share: share(f.us) }));
  const origins = [...byOrigin.entries()]
    .filter(([origin]) => origin !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .map(([origin, us]) => ({ name: origin, where: '', ms: us / 1000, share: share(us) }));
  return { totalMs: totalUs / 1000, busyMs: busyUs / 1000, functions, origins };
}

export function formatSummary(s: ProfileSummary, top = 25): string {
  const pct = (n: number): string => `${(n * 100).toFixed(1).padStart(5)}%`;
  const lines = [
    `profile: ${(s.totalMs / 1000).toFixed(1)} s sampled, ${(s.busyMs / 1000).toFixed(1)} s busy (shares below are of busy time)`,
    '',
    `top ${top} functions by self time:`,
  ];
  for (const f of s.functions.slice(0, top)) {
    lines.push(`  ${pct(f.share)} ${f.ms.toFixed(0).padStart(7)} ms  ${f.name}  ${f.where}`);
  }
  lines.push('', 'self time by origin:');
  for (const o of s.origins.slice(0, 20)) lines.push(`  ${pct(o.share)} ${o.ms.toFixed(0).padStart(7)} ms  ${o.name}`);
  return lines.join('\n');
}
