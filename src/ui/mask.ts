/**
 * The running config as the dashboard shows it: a copy with every secret
 * replaced by a mask. Secrets are recognised three ways, so a new option
 * holding one is masked without anyone remembering to list it:
 *  - by name: a field or header whose name has a secret-like word (apiKey,
 *    apiKeys, x-api-key, authorization, token, secret, password, cookie…);
 *    every string under it is masked, numbers and booleans are kept (weights);
 *  - in URLs: the user-info part and secret-like query parameters;
 *  - by shape: strings that look like keys or JWTs wherever they appear.
 */

export const MASK = '••••••';

/** Words that make a name secret. `tokens` (plural) is a count (maxTokens), `token` is a credential. */
const SECRET_WORDS = new Set([
  'key',
  'keys',
  'apikey',
  'apikeys',
  'secret',
  'secrets',
  'password',
  'passwd',
  'pwd',
  'passphrase',
  'authorization',
  'auth',
  'cookie',
  'credential',
  'credentials',
  'token',
  'jwt',
  'bearer',
  'signature',
  'session',
  'sig',
]);

/** Splits camelCase, snake_case, kebab-case and dotted names into lower-case words. */
function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w !== '')
    .map((w) => w.toLowerCase());
}

export function isSecretName(name: string): boolean {
  const list = words(name);
  return list.some((w) => SECRET_WORDS.has(w)) || SECRET_WORDS.has(list.join(''));
}

/** Strings that are credentials whatever field they sit in. */
const SECRET_SHAPES: readonly RegExp[] = [
  /^\s*(bearer|basic)\s+\S+/i,
  /^(sk|pk|rk|ak|xai|gsk|sess|key)[-_][A-Za-z0-9_-]{6,}/i,
  /^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\./,
  /^AIza[0-9A-Za-z_-]{20,}/,
];

function maskUrl(value: string): string {
  // Only absolute URLs with a scheme; anything that does not parse is left as is.
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value) || !URL.canParse(value)) return value;
  const url = new URL(value);
  let changed = false;
  if (url.username !== '' || url.password !== '') {
    url.username = url.username === '' ? '' : 'user';
    url.password = url.password === '' ? '' : 'masked';
    changed = true;
  }
  for (const name of [...url.searchParams.keys()]) {
    if (isSecretName(name)) {
      url.searchParams.set(name, 'masked');
      changed = true;
    }
  }
  if (!changed) return value;
  // Show the mask characters rather than the placeholders URL encoding needs.
  return url.toString().replace('user:masked@', `${MASK}@`).replace(':masked@', `:${MASK}@`).replace('user@', `${MASK}@`).replaceAll('=masked', `=${MASK}`);
}

function maskString(value: string): string {
  if (SECRET_SHAPES.some((shape) => shape.test(value))) return MASK;
  return maskUrl(value);
}

/** Everything under a secret name: strings masked, numbers and booleans kept, structure kept. */
function maskAll(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return MASK;
  if (depth > 32 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => maskAll(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = maskAll(v, depth + 1);
  return out;
}

/** A deep copy of `value` with secrets masked (see the module comment). */
export function maskSecrets(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskString(value);
  if (depth > 32 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = isSecretName(k) ? maskAll(v, depth + 1) : maskSecrets(v, depth + 1);
  return out;
}
