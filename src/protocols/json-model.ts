/**
 * Passthrough rewrites one field of the client's body: the top-level `model`.
 * Re-serialising the whole parsed body for that costs as much as parsing it
 * (about 5 ms for a 100k-token context on the development VM), so the new name
 * is written straight into the raw bytes instead, and everything else goes
 * upstream exactly as the client sent it.
 *
 * The body has already been parsed (src/server/body.ts), so the scanner only
 * ever sees valid JSON. It walks the top-level object member by member,
 * jumping over strings with a native search, and gives up (undefined: the
 * caller re-serialises) on anything it cannot vouch for: a key written with
 * escapes, `model` appearing twice (JSON.parse keeps the last one, so the
 * upstream must see exactly one), or a `model` that is not a string.
 */

import { isSpace, skipSpace, stringEnd } from './json-bytes.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;
const MODEL = Buffer.from('model');


/** Index just past the JSON value starting at `start`; -1 if it does not end. */
function valueEnd(raw: Buffer, start: number): number {
  const first = raw[start];
  if (first === QUOTE) return stringEnd(raw, start);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    for (let i = start; i < raw.length; ) {
      const byte = raw[i];
      if (byte === QUOTE) {
        i = stringEnd(raw, i);
        if (i === -1) return -1;
        continue;
      }
      if (byte === OPEN_BRACE || byte === OPEN_BRACKET) depth++;
      else if ((byte === CLOSE_BRACE || byte === CLOSE_BRACKET) && --depth === 0) return i + 1;
      i++;
    }
    return -1;
  }
  // A number, true, false or null: up to the next delimiter.
  let i = start;
  while (i < raw.length && raw[i] !== COMMA && raw[i] !== CLOSE_BRACE && raw[i] !== CLOSE_BRACKET && !isSpace(raw[i])) i++;
  return i;
}

/** Where the value of the one top-level `"model"` member is, or undefined when that cannot be said for sure. */
export function topLevelModelSpan(raw: Buffer): { start: number; end: number } | undefined {
  let i = skipSpace(raw, 0);
  if (raw[i] !== OPEN_BRACE) return undefined;
  i = skipSpace(raw, i + 1);
  let span: { start: number; end: number } | undefined;
  if (raw[i] === CLOSE_BRACE) return undefined;
  for (;;) {
    if (raw[i] !== QUOTE) return undefined;
    const keyEnd = stringEnd(raw, i);
    if (keyEnd === -1) return undefined;
    const key = raw.subarray(i + 1, keyEnd - 1);
    if (key.includes(BACKSLASH)) return undefined;
    i = skipSpace(raw, keyEnd);
    if (raw[i] !== COLON) return undefined;
    const start = skipSpace(raw, i + 1);
    const end = valueEnd(raw, start);
    if (end === -1) return undefined;
    if (key.equals(MODEL)) {
      if (span !== undefined || raw[start] !== QUOTE) return undefined;
      span = { start, end };
    }
    i = skipSpace(raw, end);
    if (raw[i] === COMMA) {
      i = skipSpace(raw, i + 1);
      continue;
    }
    if (raw[i] !== CLOSE_BRACE) return undefined;
    return skipSpace(raw, i + 1) === raw.length ? span : undefined;
  }
}

/** The raw body with its top-level `model` set to `model`, or undefined when the caller must re-serialise. */
export function withTopLevelModel(raw: Buffer, model: string): Buffer | undefined {
  const span = topLevelModelSpan(raw);
  if (span === undefined) return undefined;
  const value = Buffer.from(JSON.stringify(model));
  // A public name that is the upstream's own needs no copy.
  if (value.equals(raw.subarray(span.start, span.end))) return raw;
  return Buffer.concat([raw.subarray(0, span.start), value, raw.subarray(span.end)]);
}
