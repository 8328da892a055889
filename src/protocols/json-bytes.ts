/**
 * JSON.parse for large UTF-8 bodies without first decoding them into one
 * string. `JSON.parse(raw.toString())` on a 400 KB body allocates a 400–800 KB
 * string (two bytes per character as soon as one character is outside
 * Latin-1), and V8 puts every string over 128 KB in its large-object space:
 * fresh memory pages each time. On the bench VM that allocation alone took
 * 1.5–3.4 ms, three times the parse. Here the structure is read from the bytes
 * and each string is decoded on its own (a message's text, typically a few
 * KB), so nothing that large is ever allocated unless one string is.
 *
 * The result is the value JSON.parse would give. This parser is strict: on
 * anything it does not accept it throws, and the caller falls back to
 * JSON.parse, which then gives the real answer (a value, or its own error).
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;

/** Strings at most this long are checked byte by byte in JS; longer ones are decoded natively. */
const SHORT_STRING = 32;
/** Deeper than this the parser gives up (recursion); JSON.parse, iterative, takes over. */
const MAX_DEPTH = 1000;

/** Invalid unescaped in a JSON string. */
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f]/;

/** JSON whitespace: space, line feed, carriage return, tab. */
export function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** Index of the first byte at or after `i` that is not JSON whitespace. */
export function skipSpace(bytes: Buffer, i: number): number {
  while (isSpace(bytes[i])) i++;
  return i;
}

/** Index just past the string whose opening quote is at `start` (a quote after an odd run of backslashes is escaped); -1 if it never closes. */
export function stringEnd(bytes: Buffer, start: number): number {
  let from = start + 1;
  for (;;) {
    const quote = bytes.indexOf(QUOTE, from);
    if (quote === -1) return -1;
    let backslashes = 0;
    for (let k = quote - 1; bytes[k] === BACKSLASH; k--) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

class NotHandled extends Error {}
const notHandled = new NotHandled('not handled by the byte parser');

/** Strings at least this long (in bytes) are remembered with their place in the body (see `RawStrings`). */
const REMEMBERED_STRING = 256;

/**
 * Where the long strings of a body parsed from its bytes sit in those bytes.
 * Serialising the same string again (a translated request carries the
 * client's texts) can then copy its token, quotes and escapes as the client
 * wrote them, instead of escaping and encoding it anew.
 */
export class RawStrings {
  readonly bytes: Buffer;
  /** By length, so a lookup compares (usually by identity) only strings of that length, and hashes none. */
  readonly #byLength = new Map<number, Array<{ text: string; start: number; end: number }>>();

  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }

  add(text: string, start: number, end: number): void {
    const list = this.#byLength.get(text.length);
    if (list === undefined) this.#byLength.set(text.length, [{ text, start, end }]);
    else list.push({ text, start, end });
  }

  /** The JSON token (with its quotes) of `text` in the body, or undefined when `text` is not one of its long strings. */
  token(text: string): Buffer | undefined {
    const list = this.#byLength.get(text.length);
    if (list === undefined) return undefined;
    for (const entry of list) if (entry.text === text) return this.bytes.subarray(entry.start, entry.end);
    return undefined;
  }
}

const rawStringsByBody = new WeakMap<Buffer, RawStrings>();

/** The long strings of a body that `parseJsonBytes` parsed, if it did. */
export function rawStringsOf(bytes: Buffer): RawStrings | undefined {
  return rawStringsByBody.get(bytes);
}

/** Parses JSON from UTF-8 bytes; throws on anything it does not handle (invalid JSON included). */
export function parseJsonBytes(bytes: Buffer): unknown {
  const parser = new BytesParser(bytes);
  const value = parser.value(0);
  parser.skipWhitespace();
  if (parser.pos !== bytes.length) throw notHandled;
  rawStringsByBody.set(bytes, parser.strings);
  return value;
}

class BytesParser {
  pos = 0;
  readonly strings: RawStrings;
  readonly #bytes: Buffer;
  /** Where the next backslash at or after some earlier position is (-1: none left); searched lazily, forward only. */
  #nextBackslash = -2;

  constructor(bytes: Buffer) {
    this.#bytes = bytes;
    this.strings = new RawStrings(bytes);
  }

  skipWhitespace(): void {
    this.pos = skipSpace(this.#bytes, this.pos);
  }

  value(depth: number): unknown {
    this.skipWhitespace();
    const byte = this.#bytes[this.pos];
    switch (byte) {
      case QUOTE:
        return this.string();
      case OPEN_BRACE:
        return this.object(depth + 1);
      case OPEN_BRACKET:
        return this.array(depth + 1);
      case 0x74: // t
        return this.literal('true', true);
      case 0x66: // f
        return this.literal('false', false);
      case 0x6e: // n
        return this.literal('null', null);
      default:
        if (byte === MINUS || (byte !== undefined && byte >= ZERO && byte <= NINE)) return this.number();
        throw notHandled;
    }
  }

  object(depth: number): Record<string, unknown> {
    if (depth > MAX_DEPTH) throw notHandled;
    const bytes = this.#bytes;
    const out: Record<string, unknown> = {};
    this.pos++;
    this.skipWhitespace();
    if (bytes[this.pos] === CLOSE_BRACE) {
      this.pos++;
      return out;
    }
    for (;;) {
      if (bytes[this.pos] !== QUOTE) throw notHandled;
      const key = this.string();
      this.skipWhitespace();
      if (bytes[this.pos] !== COLON) throw notHandled;
      this.pos++;
      const item = this.value(depth);
      // JSON.parse makes "__proto__" an own property; an assignment would set the prototype.
      if (key === '__proto__') Object.defineProperty(out, key, { value: item, writable: true, enumerable: true, configurable: true });
      else out[key] = item;
      this.skipWhitespace();
      const next = bytes[this.pos++];
      if (next === CLOSE_BRACE) return out;
      if (next !== COMMA) throw notHandled;
      this.skipWhitespace();
    }
  }

  array(depth: number): unknown[] {
    if (depth > MAX_DEPTH) throw notHandled;
    const bytes = this.#bytes;
    const out: unknown[] = [];
    this.pos++;
    this.skipWhitespace();
    if (bytes[this.pos] === CLOSE_BRACKET) {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth));
      this.skipWhitespace();
      const next = bytes[this.pos++];
      if (next === CLOSE_BRACKET) return out;
      if (next !== COMMA) throw notHandled;
    }
  }

  literal(text: string, value: boolean | null): boolean | null {
    const bytes = this.#bytes;
    for (let i = 0; i < text.length; i++) {
      if (bytes[this.pos + i] !== text.charCodeAt(i)) throw notHandled;
    }
    this.pos += text.length;
    return value;
  }

  /** JSON's number grammar exactly (Number() alone would also take hex, "Infinity", spaces). */
  number(): number {
    const bytes = this.#bytes;
    const start = this.pos;
    let pos = start;
    if (bytes[pos] === MINUS) pos++;
    const first = bytes[pos];
    if (first === ZERO) pos++;
    else if (first !== undefined && first > ZERO && first <= NINE) pos = this.#digits(pos);
    else throw notHandled;
    if (bytes[pos] === DOT) {
      const after = this.#digits(pos + 1);
      if (after === pos + 1) throw notHandled;
      pos = after;
    }
    if (bytes[pos] === LOWER_E || bytes[pos] === UPPER_E) {
      pos++;
      if (bytes[pos] === PLUS || bytes[pos] === MINUS) pos++;
      const after = this.#digits(pos);
      if (after === pos) throw notHandled;
      pos = after;
    }
    this.pos = pos;
    return Number(bytes.toString('latin1', start, pos));
  }

  #digits(from: number): number {
    const bytes = this.#bytes;
    let pos = from;
    for (;;) {
      const byte = bytes[pos];
      if (byte !== undefined && byte >= ZERO && byte <= NINE) pos++;
      else return pos;
    }
  }

  /** A string starting at the opening quote at `pos`. */
  string(): string {
    const bytes = this.#bytes;
    const start = this.pos + 1;
    const after = stringEnd(bytes, this.pos);
    if (after === -1) throw notHandled;
    const end = after - 1;
    this.pos = after;
    if (end - start <= SHORT_STRING) {
      // Short strings (keys, roles, types): plain printable ASCII is taken as is.
      let plain = true;
      for (let i = start; i < end; i++) {
        const byte = bytes[i]!;
        if (byte < 0x20 || byte > 0x7e || byte === BACKSLASH) {
          plain = false;
          break;
        }
      }
      return plain ? bytes.toString('latin1', start, end) : parseStringToken(bytes, start - 1, end + 1);
    }
    let text: string;
    if (this.#backslashAfter(start) > end) {
      // No escapes: only a raw control character would make it invalid.
      text = bytes.toString('utf8', start, end);
      if (CONTROL_CHARACTER.test(text)) throw notHandled;
    } else {
      text = parseStringToken(bytes, start - 1, end + 1);
    }
    if (end - start >= REMEMBERED_STRING) this.strings.add(text, start - 1, end + 1);
    return text;
  }

  /** Position of the first backslash at or after `from` (Infinity when none). */
  #backslashAfter(from: number): number {
    if (this.#nextBackslash === -1) return Infinity;
    if (this.#nextBackslash < from) this.#nextBackslash = this.#bytes.indexOf(BACKSLASH, from);
    return this.#nextBackslash === -1 ? Infinity : this.#nextBackslash;
  }
}

/** A string token with its quotes, escapes and all: V8 decodes and validates it. */
function parseStringToken(bytes: Buffer, from: number, to: number): string {
  try {
    return JSON.parse(bytes.toString('utf8', from, to)) as string;
  } catch {
    throw notHandled;
  }
}
