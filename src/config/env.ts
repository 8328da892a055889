/**
 * `${VAR}` interpolation in string values of the parsed YAML (keys are left
 * alone). `${VAR:-default}` falls back when VAR is unset or empty (as in the
 * shell), `$${` writes a literal `${`. A variable that is unset and has no
 * default is a problem reported with its name and path; values are never
 * quoted in messages because they are often secrets.
 */
import type { ConfigProblem } from './problems.ts';
import { formatPath } from './problems.ts';

export type Env = Readonly<Record<string, string | undefined>>;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function interpolateString(text: string, env: Env, path: string, problems: ConfigProblem[]): string {
  if (!text.includes('$')) return text;
  let out = '';
  let i = 0;
  for (;;) {
    const dollar = text.indexOf('$', i);
    if (dollar === -1) break;
    out += text.slice(i, dollar);
    if (text.startsWith('$${', dollar)) {
      out += '${';
      i = dollar + 3;
      continue;
    }
    if (text[dollar + 1] !== '{') {
      out += '$';
      i = dollar + 1;
      continue;
    }
    const close = text.indexOf('}', dollar + 2);
    if (close === -1) {
      problems.push({ path, message: 'unterminated "${" (write "$${" for a literal "${")' });
      return out + text.slice(dollar);
    }
    const expression = text.slice(dollar + 2, close);
    const separator = expression.indexOf(':-');
    const name = separator === -1 ? expression : expression.slice(0, separator);
    const fallback = separator === -1 ? undefined : expression.slice(separator + 2);
    if (!NAME.test(name)) {
      problems.push({ path, message: `invalid environment variable name "${name}" in "\${…}"` });
    } else {
      const value = env[name];
      if (value !== undefined && (value !== '' || fallback === undefined)) out += value;
      else if (fallback !== undefined) out += fallback;
      else problems.push({ path, message: `environment variable ${name} is not set (write \${${name}:-default} for a fallback)` });
    }
    i = close + 1;
  }
  return out + text.slice(i);
}

/**
 * Returns a copy of `value` with every string interpolated. Problems are
 * appended; the paths that had one are added to `failedPaths` so later checks
 * do not report the same value twice.
 */
export function interpolateEnv(
  value: unknown,
  env: Env,
  problems: ConfigProblem[],
  failedPaths: Set<string>,
  path: PropertyKey[] = [],
): unknown {
  if (typeof value === 'string') {
    const before = problems.length;
    const out = interpolateString(value, env, formatPath(path), problems);
    if (problems.length > before) failedPaths.add(formatPath(path));
    return out;
  }
  if (Array.isArray(value)) {
    return value.map((item: unknown, index) => interpolateEnv(item, env, problems, failedPaths, [...path, index]));
  }
  if (value !== null && typeof value === 'object') {
    // fromEntries defines own properties, so a `__proto__` key stays a key (reported as unknown).
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolateEnv(item, env, problems, failedPaths, [...path, key])]),
    );
  }
  return value;
}
