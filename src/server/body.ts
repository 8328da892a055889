/**
 * Request body parsing: UTF-8 checked, JSON parsed once, nesting bounded.
 * Each failure is a GatewayError with its own code, so the client learns
 * exactly what was wrong with what it sent.
 */
import { isUtf8 } from 'node:buffer';
import { GatewayError } from '../errors.ts';

export function parseJsonBody(raw: Buffer, maxDepth: number): unknown {
  if (raw.length === 0) throw new GatewayError('SWY_ERR_EMPTY_BODY', 'The request body is empty; send a JSON object.');
  if (!isUtf8(raw)) throw new GatewayError('SWY_ERR_BAD_UTF8', 'The request body is not valid UTF-8.');
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
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

/** True when `value` nests objects/arrays more than `max` levels deep. Iterative: cannot overflow the stack. */
export function exceedsDepth(value: unknown, max: number): boolean {
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
