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
      children: z.array(z.number()).optional(),
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
  /**
   * Time of every sample whose stack passes through an origin, once per
   * sample: "pino" here includes the native writes pino triggers.
   */
  inclusiveOrigins: SelfTime[];
  /** Self time charged to the nearest caller in a package or one of our files (native and node internals rolled up). */
  byNearestCaller: SelfTime[];
}

/** Origins that are plumbing, not a decision anyone in this repo can change directly. */
function isPlumbing(origin: string): boolean {
  return origin.startsWith('(') || origin.startsWith('node:');
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
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const nodeById = new Map(profile.nodes.map((n) => [n.id, n]));
  const inclusive = new Map<string, number>();
  const nearest = new Map<string, { name: string; where: string; us: number }>();
  for (const [id, us] of self) {
    const first = nodeById.get(id);
    if (first === undefined || first.callFrame.functionName === '(idle)') continue;
    const seen = new Set<string>();
    let caller: { name: string; where: string } | undefined;
    // Bounded by the depth of the tree: every step goes to a parent, and the root has none.
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = nodeById.get(at);
      if (node === undefined) break;
      const { functionName, url, lineNumber } = node.callFrame;
      const origin = originOf(url, functionName);
      if (functionName !== '(root)') seen.add(origin);
      if (caller === undefined && !isPlumbing(origin)) caller = { name: functionName || '(anonymous)', where: `${origin}:${lineNumber + 1}` };
    }
    for (const origin of seen) inclusive.set(origin, (inclusive.get(origin) ?? 0) + us);
    const c = caller ?? { name: first.callFrame.functionName || '(anonymous)', where: originOf(first.callFrame.url, first.callFrame.functionName) };
    const key = `${c.name}@${c.where}`;
    const entry = nearest.get(key);
    if (entry === undefined) nearest.set(key, { ...c, us });
    else entry.us += us;
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
  const inclusiveOrigins = [...inclusive.entries()]
    .filter(([origin]) => !isPlumbing(origin))
    .sort((a, b) => b[1] - a[1])
    .map(([origin, us]) => ({ name: origin, where: '', ms: us / 1000, share: share(us) }));
  const byNearestCaller = [...nearest.values()]
    .sort((a, b) => b.us - a.us)
    .map((f) => ({ name: f.name, where: f.where, ms: f.us / 1000, share: share(f.us) }));
  return { totalMs: totalUs / 1000, busyMs: busyUs / 1000, functions, origins, inclusiveOrigins, byNearestCaller };
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
  for (const o of s.origins.slice(0, 15)) lines.push(`  ${pct(o.share)} ${o.ms.toFixed(0).padStart(7)} ms  ${o.name}`);
  lines.push('', 'time with an origin anywhere on the stack (packages and our files; a sample counts once per origin):');
  for (const o of s.inclusiveOrigins.slice(0, 20)) lines.push(`  ${pct(o.share)} ${o.ms.toFixed(0).padStart(7)} ms  ${o.name}`);
  lines.push('', `self time charged to the nearest caller outside node internals (top ${top}):`);
  for (const f of s.byNearestCaller.slice(0, top)) lines.push(`  ${pct(f.share)} ${f.ms.toFixed(0).padStart(7)} ms  ${f.name}  ${f.where}`);
  return lines.join('\n');
}
