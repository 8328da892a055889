/** Stop reasons and usage, shared by the response and stream codecs. */
import type { StopReason, Usage } from '../../model/types.ts';
import { count, isObject } from './shape.ts';
import type { JsonObject } from './shape.ts';

const stopReasons: ReadonlySet<string> = new Set<StopReason>([
  'end_turn',
  'max_tokens',
  'tool_use',
  'stop_sequence',
  'pause_turn',
  'refusal',
]);

/** Maps a wire stop reason; values we do not know read as the nearest internal one. */
export function decodeStopReason(value: unknown): StopReason | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' && stopReasons.has(value)) return value as StopReason;
  // The model ran out of room, as with max_tokens (clients act the same way on both).
  if (value === 'model_context_window_exceeded') return 'max_tokens';
  return 'end_turn';
}

/** Reads an Anthropic `usage` object; only the fields present are returned. */
export function decodeUsage(value: unknown): Partial<Usage> {
  const usage: Partial<Usage> = {};
  if (!isObject(value)) return usage;
  const input = count(value.input_tokens);
  if (input !== undefined) usage.inputTokens = input;
  const output = count(value.output_tokens);
  if (output !== undefined) usage.outputTokens = output;
  const write = count(value.cache_creation_input_tokens);
  if (write !== undefined) usage.cacheWriteTokens = write;
  const read = count(value.cache_read_input_tokens);
  if (read !== undefined) usage.cacheReadTokens = read;
  return usage;
}

/**
 * Writes usage the Anthropic way. Internal usage already has Anthropic
 * semantics (input excludes cache reads and writes), so this is a rename.
 * Reasoning tokens have no field: they are part of `output_tokens`.
 */
export function encodeUsage(usage: Usage): JsonObject {
  return {
    input_tokens: usage.inputTokens,
    output_tokens: usage.outputTokens,
    cache_creation_input_tokens: usage.cacheWriteTokens ?? 0,
    cache_read_input_tokens: usage.cacheReadTokens ?? 0,
  };
}
