/**
 * Thinking blocks without a signature, in an Anthropic body passed through to
 * an Anthropic upstream, which refuses them (it cannot verify them).
 *
 * They come from this gateway: an OpenAI-protocol provider's reasoning has no
 * Anthropic signature, so a translated stream carries thinking with an empty
 * one, and Claude Code keeps it in the conversation. When the conversation
 * moves to an Anthropic deployment (`/model`, `--continue` with another model,
 * a think or background route), those blocks go; so does a fixed thinking
 * budget when its tool-use turn is left without a thinking block, as when
 * translating (request-encode.ts).
 */
import { turnLacksThinking, type WireMessage } from './request-encode.ts';
import { isObject, type JsonObject } from './shape.ts';

/** A cheap look at the bytes first: the parsed body is walked only when this is true. */
export function mayHaveUnsignedThinking(bytes: Buffer): boolean {
  return bytes.includes('"signature":""') || bytes.includes('"signature": ""');
}

const unsigned = (block: unknown): boolean =>
  isObject(block) && block.type === 'thinking' && (typeof block.signature !== 'string' || block.signature.length === 0);

/** A copy of `body` without unsigned thinking blocks, or undefined when it has none. */
export function withoutUnsignedThinking(body: JsonObject): JsonObject | undefined {
  const messages = body.messages;
  if (!Array.isArray(messages)) return undefined;
  let changed = false;
  const kept: unknown[] = [];
  for (const message of messages) {
    if (!isObject(message) || message.role !== 'assistant' || !Array.isArray(message.content) || !message.content.some(unsigned)) {
      kept.push(message);
      continue;
    }
    changed = true;
    const content = message.content.filter((block) => !unsigned(block));
    // A message of nothing but such thinking goes whole: Anthropic joins the user turns around it.
    if (content.length > 0) kept.push({ ...message, content });
  }
  if (!changed) return undefined;
  const out: JsonObject = { ...body, messages: kept };
  if (isObject(body.thinking) && body.thinking.type === 'enabled' && turnLacksThinking(kept.map(asWire))) delete out.thinking;
  return out;
}

/** The shape turnLacksThinking reads: a string content is one text block. */
function asWire(message: unknown): WireMessage {
  const m = isObject(message) ? message : {};
  const content = Array.isArray(m.content) ? (m.content as JsonObject[]) : [{ type: 'text' }];
  return { role: m.role === 'assistant' ? 'assistant' : 'user', content };
}
