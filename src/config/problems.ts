/**
 * Configuration problems: every one is collected and reported at once, each
 * as `path: reason` (fastify's initial-config-validation does the same).
 * Messages never quote values, so a secret in a wrong place is not echoed.
 */
import type { z } from 'zod';
import { knownKeys, replacedKeys } from './schema.ts';

export interface ConfigProblem {
  /** Dotted path into the configuration (`providers.1.baseUrl`), `(root)`, `(yaml)` or `(file)`. */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  readonly problems: ConfigProblem[];

  constructor(problems: ConfigProblem[], source?: string) {
    const where = source === undefined ? 'configuration' : `configuration ${source}`;
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    const lines = problems.map((p) => `  ${p.path}: ${p.message}`);
    super(`Invalid ${where} (${count}):\n${lines.join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.length === 0 ? '(root)' : path.map(String).join('.');
}

/** Number segments become `*`, to look up `knownKeys`. */
function pathPattern(path: ReadonlyArray<PropertyKey>): string {
  return path.map((p) => (typeof p === 'number' ? '*' : String(p))).join('.');
}

function normalise(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '');
}

function editDistance(a: string, b: string): number {
  // Two-row Levenshtein; keys are short.
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** "did you mean …?" for an unknown key at the given object path. */
export function unknownKeyMessage(objectPath: ReadonlyArray<PropertyKey>, key: string): string {
  const pattern = pathPattern(objectPath);
  const allowed = knownKeys[pattern] ?? [];
  const wanted = normalise(key);
  const replaced = replacedKeys[pattern]?.[wanted];
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const distance = editDistance(wanted, normalise(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best !== undefined && bestDistance === 0) return `unknown key; did you mean "${best}"?`;
  if (replaced !== undefined) return `unknown key; ${replaced}`;
  if (best !== undefined && bestDistance <= Math.max(1, Math.min(3, Math.floor(wanted.length / 3)))) {
    return `unknown key; did you mean "${best}"?`;
  }
  return allowed.length > 0 ? `unknown key (allowed: ${allowed.join(', ')})` : 'unknown key';
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `a ${typeof value}`;
}

function expectedName(expected: string): string {
  switch (expected) {
    case 'object':
      return 'a mapping';
    case 'array':
      return 'a list';
    case 'int':
      return 'an integer';
    default:
      return `a ${expected}`;
  }
}

function bound(issue: { minimum?: unknown; maximum?: unknown; inclusive?: boolean }, small: boolean): string {
  const limit = String(small ? issue.minimum : issue.maximum);
  if (small) return issue.inclusive === false ? `> ${limit}` : `>= ${limit}`;
  return issue.inclusive === false ? `< ${limit}` : `<= ${limit}`;
}

/** Turns zod issues (parsed with `reportInput: true`) into problems. */
export function problemsFromIssues(issues: readonly z.core.$ZodIssue[]): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const issue of issues) {
    const path = formatPath(issue.path);
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) {
          out.push({ path: formatPath([...issue.path, key]), message: unknownKeyMessage(issue.path, key) });
        }
        break;
      case 'invalid_type':
        out.push({
          path,
          message:
            issue.input === undefined
              ? 'is required'
              : `must be ${expectedName(issue.expected)}, got ${describe(issue.input)}`,
        });
        break;
      case 'too_small':
        if (issue.origin === 'string' && issue.minimum === 1) out.push({ path, message: 'must not be empty' });
        else if (issue.origin === 'array') out.push({ path, message: `must have at least ${String(issue.minimum)} item(s)` });
        else out.push({ path, message: `must be ${bound(issue, true)}` });
        break;
      case 'too_big':
        out.push({ path, message: issue.origin === 'array' ? `must have at most ${String(issue.maximum)} items` : `must be ${bound(issue, false)}` });
        break;
      case 'invalid_value':
        out.push({ path, message: `must be one of: ${issue.values.map(String).join(', ')}` });
        break;
      default:
        out.push({ path, message: issue.message });
    }
  }
  return out;
}

const sectionOrder = new Map(knownKeys['']?.map((key, index) => [key, index]));

/**
 * Groups problems by section in schema order (server, providers, …) and by
 * entry index, so everything about `providers.2` reads together. The sort is
 * stable: within an entry, problems keep the order they were found in.
 */
export function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  const rank = (path: string): [number, number] => {
    const [section = '', index = ''] = path.split('.', 2);
    const n = Number(index);
    return [sectionOrder.get(section) ?? (section.startsWith('(') ? -1 : sectionOrder.size), Number.isInteger(n) && index !== '' ? n : -1];
  };
  return problems
    .map((problem) => ({ problem, key: rank(problem.path) }))
    .sort((a, b) => a.key[0] - b.key[0] || a.key[1] - b.key[1])
    .map(({ problem }) => problem);
}
