/**
 * JSON.stringify for large request bodies, as UTF-8 bytes built piece by
 * piece. One JSON.stringify of a 100k-token conversation makes a string of
 * 400–800 KB, grown in steps, in V8's large-object space (fresh memory pages
 * for every string over 128 KB), and undici then encodes it again: 4–5 ms on
 * the bench VM. Here the text is written in pieces of at most ~16K characters,
 * each turned into bytes at once, and the bytes are joined at the end.
 *
 * With the client's body at hand (`KnownTokens`: json-bytes.ts remembers
 * where its long strings are), a long string that came from it is not
 * escaped and encoded again: its token is copied from the client's bytes.
 * A translated request carries the client's texts, so most of its bytes are
 * copied rather than written.
 *
 * The bytes are those of `JSON.stringify(value)` for JSON data (plain
 * objects, arrays, strings, finite numbers, booleans, null; undefined and
 * functions left out as JSON.stringify leaves them out), except that a copied
 * string token keeps the escapes its client chose: the same JSON value.
 */

/** Where the JSON token of a string can be copied from instead of written anew. */
export interface KnownTokens {
  token(text: string): Buffer | undefined;
}

/** Without known tokens, containers this deep are written by one JSON.stringify each. */
const SPLIT_DEPTH = 2;
/** Shorter strings are cheaper to write than to look up. */
const KNOWN_FROM_CHARS = 128;
/** Pending text is turned into bytes once this long: well under V8's large-object size. */
const FLUSH_CHARS = 16 * 1024;

class PieceWriter {
  readonly parts: Buffer[] = [];
  readonly known: KnownTokens | undefined;
  #text = '';

  constructor(known: KnownTokens | undefined) {
    this.known = known;
  }

  text(text: string): void {
    this.#text += text;
    if (this.#text.length >= FLUSH_CHARS) this.flush();
  }

  bytes(bytes: Buffer): void {
    this.flush();
    this.parts.push(bytes);
  }

  flush(): void {
    if (this.#text.length === 0) return;
    this.parts.push(Buffer.from(this.#text));
    this.#text = '';
  }
}

/** The UTF-8 bytes of `JSON.stringify(value)`, never holding the whole text as one string. */
export function stringifyToBytes(value: unknown, known?: KnownTokens): Buffer {
  const writer = new PieceWriter(known);
  if (isContainer(value)) writeContainer(value, writer, 0);
  else if (!writeLeaf(value, writer, '')) writer.text('null');
  writer.flush();
  return Buffer.concat(writer.parts);
}

function isContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  return typeof value === 'object' && value !== null && typeof (value as { toJSON?: unknown }).toJSON !== 'function';
}

/** Writes `prefix` and a value that is not a container; false (nothing written) when JSON.stringify would leave it out. */
function writeLeaf(value: unknown, writer: PieceWriter, prefix: string): boolean {
  if (typeof value === 'string' && value.length >= KNOWN_FROM_CHARS && writer.known !== undefined) {
    const token = writer.known.token(value);
    if (token !== undefined) {
      writer.text(prefix);
      writer.bytes(token);
      return true;
    }
  }
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) return false;
  writer.text(prefix + text);
  return true;
}

function writeContainer(value: Record<string, unknown> | unknown[], writer: PieceWriter, depth: number): void {
  if (depth >= SPLIT_DEPTH && writer.known === undefined) {
    writer.text(JSON.stringify(value));
    return;
  }
  if (Array.isArray(value)) {
    writer.text('[');
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      const comma = i > 0 ? ',' : '';
      if (isContainer(item)) {
        writer.text(comma);
        writeContainer(item, writer, depth + 1);
      } else if (!writeLeaf(item, writer, comma)) {
        writer.text(`${comma}null`);
      }
    }
    writer.text(']');
    return;
  }
  writer.text('{');
  let comma = '';
  for (const key of Object.keys(value)) {
    const item = value[key];
    const prefix = `${comma}${JSON.stringify(key)}:`;
    if (isContainer(item)) {
      writer.text(prefix);
      writeContainer(item, writer, depth + 1);
    } else if (!writeLeaf(item, writer, prefix)) {
      continue;
    }
    comma = ',';
  }
  writer.text('}');
}
