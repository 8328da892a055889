/**
 * JSON.stringify for large request bodies, as UTF-8 bytes built piece by
 * piece. One JSON.stringify of a 100k-token conversation makes a string of
 * 400–800 KB, grown in steps, in V8's large-object space (fresh memory pages
 * for every string over 128 KB), and undici then encodes it again: 4–5 ms on
 * the bench VM. Here the top levels (the body's fields, the items of its
 * arrays: messages, tools) are written one by one, each a string of a few KB
 * turned into bytes at once, and the bytes are joined at the end.
 *
 * The bytes are exactly those of `JSON.stringify(value)` for JSON data
 * (plain objects, arrays, strings, finite numbers, booleans, null, with
 * undefined and functions left out as JSON.stringify leaves them out).
 */

/** Levels of containers written piece by piece; below, each item is one JSON.stringify. */
const SPLIT_DEPTH = 2;

const OPEN_BRACE = Buffer.from('{');
const CLOSE_BRACE = Buffer.from('}');
const OPEN_BRACKET = Buffer.from('[');
const CLOSE_BRACKET = Buffer.from(']');
const COMMA = Buffer.from(',');
const NULL = Buffer.from('null');

/** The UTF-8 bytes of `JSON.stringify(value)`, never holding the whole text as one string. */
export function stringifyToBytes(value: unknown): Buffer {
  const parts: Buffer[] = [];
  write(value, parts, 0);
  return Buffer.concat(parts);
}

function isSplittable(value: unknown): value is Record<string, unknown> | unknown[] {
  return typeof value === 'object' && value !== null && typeof (value as { toJSON?: unknown }).toJSON !== 'function';
}

/** Writes `value`; false when JSON.stringify would leave it out (undefined, a function, a symbol). */
function write(value: unknown, parts: Buffer[], depth: number): boolean {
  if (depth >= SPLIT_DEPTH || !isSplittable(value)) {
    const text = JSON.stringify(value) as string | undefined;
    if (text === undefined) return false;
    parts.push(Buffer.from(text));
    return true;
  }
  if (Array.isArray(value)) {
    parts.push(OPEN_BRACKET);
    for (let i = 0; i < value.length; i++) {
      if (i > 0) parts.push(COMMA);
      if (!write(value[i], parts, depth + 1)) parts.push(NULL);
    }
    parts.push(CLOSE_BRACKET);
    return true;
  }
  parts.push(OPEN_BRACE);
  let first = true;
  for (const key of Object.keys(value)) {
    const at = parts.length;
    parts.push(Buffer.from(first ? `${JSON.stringify(key)}:` : `,${JSON.stringify(key)}:`));
    if (write(value[key], parts, depth + 1)) first = false;
    else parts.length = at;
  }
  parts.push(CLOSE_BRACE);
  return true;
}
