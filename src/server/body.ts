/**
 * Request body parsing: UTF-8 checked, JSON parsed once, nesting bounded.
 * Each failure is a GatewayError with its own code, so the client learns
 * exactly what was wrong with what it sent.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import { GatewayError } from '../errors.ts';
import { parseJsonBytes } from '../protocols/json-bytes.ts';

/**
 * From this size a body is parsed from its bytes (src/protocols/json-bytes.ts): decoded
 * whole, its text could be a string over V8's 128 KB large-object limit (64K
 * characters, two bytes each once one is outside Latin-1), and allocating
 * that costs more than parsing. An ASCII body is one byte per character.
 */
const BYTES_PARSE_FROM = 64 * 1024;
const BYTES_PARSE_FROM_ASCII = 128 * 1024;

function parseJson(raw: Buffer): unknown {
  if (raw.length >= BYTES_PARSE_FROM && (raw.length >= BYTES_PARSE_FROM_ASCII || !isAscii(raw))) {
    try {
      return parseJsonBytes(raw);
    } catch {
      // Invalid JSON, or something the byte parser leaves to JSON.parse: its answer (or error) stands.
    }
  }
  return JSON.parse(raw.toString('utf8'));
}

export function parseJsonBody(raw: Buffer, maxDepth: number): unknown {
  if (raw.length === 0) throw new GatewayError('SWY_ERR_EMPTY_BODY', 'The request body is empty; send a JSON object.');
  if (!isUtf8(raw)) throw new GatewayError('SWY_ERR_BAD_UTF8', 'The request body is not valid UTF-8.');
  let value: unknown;
  try {
    value = parseJson(raw);
  } catch (err) {
    throw new GatewayError('SWY_ERR_BAD_JSON', `The request body is not valid JSON: ${(err as Error).message}`);
  }
  // V8 parses arbitrarily deep JSON; everything after it (translators,
  // JSON.stringify) recurses, so depth is bounded here. Walking the parsed
  // value visits nodes, not bytes: cheap next to the parse itself.
  if (exceedsDepth(value, maxDepth)) {
    throw new GatewayError('SWY_ERR_TOO_DEEP', `The request body nests deeper than ${maxDepth} levels.`);
  }
  return value;
}

/** Deeper than this, the walk is iterative: recursion that deep could overflow the stack. */
const MAX_RECURSIVE_DEPTH = 512;

/**
 * True when `value` nests objects/arrays more than `max` levels deep. For the
 * usual limits (default 128) a recursion that stops at `max` and allocates
 * nothing, since this runs on every request; an explicit stack beyond that.
 */
export function exceedsDepth(value: unknown, max: number): boolean {
  return max <= MAX_RECURSIVE_DEPTH ? deeper(value, 1, max) : deeperIterative(value, max);
}

function deeperIterative(value: unknown, max: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  const stack: Array<{ node: object; depth: number }> = [{ node: value, depth: 1 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (depth > max) return true;
    const children = Array.isArray(node) ? node : Object.values(node);
    for (const child of children) {
      if (child !== null && typeof child === 'object') stack.push({ node: child, depth: depth + 1 });
    }
  }
  return false;
}

function deeper(value: unknown, depth: number, max: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (depth > max) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (deeper(value[i], depth + 1, max)) return true;
    return false;
  }
  const record = value as Record<string, unknown>;
  for (const key in record) if (deeper(record[key], depth + 1, max)) return true;
  return false;
}
