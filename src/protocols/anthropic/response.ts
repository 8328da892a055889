/**
 * Anthropic Messages response <-> internal ChatResponse
 * (https://docs.anthropic.com/en/api/messages, "Response").
 */
import { randomUUID } from 'node:crypto';
import { GatewayError } from '../../errors.ts';
import type { ChatResponse, OutputPart } from '../../model/types.ts';
import { decodeBlock, encodePart } from './blocks.ts';
import { fail, isObject, optString, reqString } from './shape.ts';
import { decodeStopReason, decodeUsage, encodeUsage } from './wire.ts';

const C = 'SWY_ERR_UPSTREAM_BAD_RESPONSE';

/** Decodes an upstream's (non-streaming) Messages response. Unknown block types are dropped. */
export function decodeAnthropicResponse(body: unknown): ChatResponse {
  if (!isObject(body)) throw new GatewayError(C, 'upstream response body is not a JSON object');
  const content = body.content;
  if (!Array.isArray(content)) fail(C, 'content', 'must be an array');
  const parts: OutputPart[] = [];
  for (let i = 0; i < content.length; i++) {
    const part = decodeBlock(C, content[i], `content.${i}`);
    // Images and tool results are request-only; an upstream never answers with them.
    if (part !== undefined && part.type !== 'image' && part.type !== 'tool_result') parts.push(part);
  }
  const usage = decodeUsage(body.usage);
  const res: ChatResponse = {
    id: reqString(C, body, 'id', ''),
    model: reqString(C, body, 'model', ''),
    content: parts,
    stopReason: decodeStopReason(body.stop_reason),
    usage: { ...usage, inputTokens: usage.inputTokens ?? 0, outputTokens: usage.outputTokens ?? 0 },
  };
  const stopSequence = optString(C, body, 'stop_sequence', '');
  if (stopSequence !== undefined) res.stopSequence = stopSequence;
  return res;
}

/**
 * Encodes a response for an Anthropic client. A null stop reason (the
 * upstream did not say) reads as `end_turn`, or `tool_use` if tools were called:
 * Anthropic clients expect a reason on every complete message.
 */
export function encodeAnthropicResponse(res: ChatResponse): Record<string, unknown> {
  let usedTools = false;
  const content = new Array<Record<string, unknown>>(res.content.length);
  for (let i = 0; i < res.content.length; i++) {
    const part = res.content[i]!;
    if (part.type === 'tool_call') usedTools = true;
    content[i] = encodePart(part);
  }
  return {
    // Some OpenAI-compatible servers send no id; clients key on it, as the stream encoder knows.
    id: res.id.length > 0 ? res.id : `msg_${randomUUID().replaceAll('-', '')}`,
    type: 'message',
    role: 'assistant',
    model: res.model,
    content,
    stop_reason: res.stopReason ?? (usedTools ? 'tool_use' : 'end_turn'),
    stop_sequence: res.stopSequence ?? null,
    usage: encodeUsage(res.usage),
  };
}
