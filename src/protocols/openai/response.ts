/**
 * Non-streaming Chat Completions responses, both directions
 * (https://platform.openai.com/docs/api-reference/chat/object).
 */
import { randomUUID } from 'node:crypto';
import { GatewayError } from '../../errors.ts';
import type { ChatResponse, OutputPart, RedactedThinkingPart, ThinkingPart } from '../../model/types.ts';
import {
  decodeOpenAIUsage,
  decodeReasoningDetails,
  encodeOpenAIUsage,
  encodeReasoningDetails,
  finishFromStopReason,
  isRecord,
  parseToolArguments,
  stopReasonFromFinish,
  syntheticToolCallId,
} from './shared.ts';

function badResponse(problem: string): GatewayError {
  return new GatewayError('SWY_ERR_UPSTREAM_BAD_RESPONSE', `upstream sent an invalid chat completion: ${problem}`);
}

/**
 * Upstream body → internal response. Only choice 0 is read (the gateway never
 * asks for n > 1). A tool call whose arguments are not a JSON object fails the
 * response (502) rather than reaching the client as an invented object, unless
 * the token limit cut it off: then it is left out and the stop is `max_tokens`.
 */
export function decodeOpenAIResponse(body: unknown): ChatResponse {
  if (!isRecord(body)) throw badResponse('body is not an object');
  if (!Array.isArray(body.choices)) throw badResponse('choices is not an array');
  const choice: unknown = body.choices.find((c: unknown) => isRecord(c) && (c.index ?? 0) === 0) ?? body.choices[0];
  if (!isRecord(choice)) throw badResponse('choices[0] is missing');
  const message = choice.message;
  if (!isRecord(message)) throw badResponse('choices[0].message is not an object');

  const content: OutputPart[] = [];
  const details = decodeReasoningDetails(message.reasoning_details);
  if (details.length > 0) content.push(...details);
  else {
    const reasoning = typeof message.reasoning_content === 'string' ? message.reasoning_content : message.reasoning;
    if (typeof reasoning === 'string' && reasoning.length > 0) content.push({ type: 'thinking', text: reasoning });
  }
  const text = textOf(message.content);
  if (text.length > 0) content.push({ type: 'text', text });
  else if (typeof message.refusal === 'string' && message.refusal.length > 0) {
    content.push({ type: 'text', text: message.refusal });
  }
  let sawToolCalls = false;
  if (Array.isArray(message.tool_calls)) {
    for (let i = 0; i < message.tool_calls.length; i++) {
      const call: unknown = message.tool_calls[i];
      const path = `choices[0].message.tool_calls[${i}]`;
      if (!isRecord(call) || !isRecord(call.function)) throw badResponse(`${path} has no function`);
      const name = call.function.name;
      if (typeof name !== 'string' || name.length === 0) throw badResponse(`${path}.function.name is missing`);
      const input = parseToolArguments(call.function.arguments);
      if (input === undefined) {
        // Cut off by the token limit mid-arguments: the answer so far and its max_tokens stop
        // still reach the client, without a call it could run with made-up input.
        if (choice.finish_reason === 'length') continue;
        throw badResponse(`${path}.function.arguments is not a JSON object`);
      }
      // A few servers omit ids; the client needs one to answer the call.
      const id = typeof call.id === 'string' && call.id.length > 0 ? call.id : syntheticToolCallId();
      content.push({ type: 'tool_call', id, name, input });
      sawToolCalls = true;
    }
  }
  return {
    id: typeof body.id === 'string' ? body.id : '',
    model: typeof body.model === 'string' ? body.model : '',
    content,
    stopReason: stopReasonFromFinish(choice.finish_reason, sawToolCalls),
    usage: decodeOpenAIUsage(body.usage) ?? { inputTokens: 0, outputTokens: 0 },
  };
}

/** `content` is a string, null, or (some servers) an array of text parts. */
function textOf(raw: unknown): string {
  if (typeof raw === 'string') return raw;
  if (!Array.isArray(raw)) return '';
  let out = '';
  for (const part of raw) if (isRecord(part) && typeof part.text === 'string') out += part.text;
  return out;
}

/**
 * Internal response → Chat Completions object. Thinking is sent twice on
 * purpose: `reasoning_content` for clients that show it, and
 * `reasoning_details` with signatures so a client that echoes the assistant
 * message back verbatim keeps Anthropic tool use with thinking working.
 */
export function encodeOpenAIResponse(res: ChatResponse, options: { created?: number; legacyFunctions?: boolean } = {}): Record<string, unknown> {
  let text: string | null = null;
  const calls: Array<Record<string, unknown>> = [];
  const reasoning: Array<ThinkingPart | RedactedThinkingPart> = [];
  let reasoningText = '';
  for (const part of res.content) {
    switch (part.type) {
      case 'text':
        // One answer cut into blocks (citations split it mid-sentence); the
        // stream encoder concatenates them the same way.
        text = text === null ? part.text : text + part.text;
        break;
      case 'tool_call':
        calls.push({ id: part.id, type: 'function', function: { name: part.name, arguments: JSON.stringify(part.input) } });
        break;
      case 'thinking':
        reasoningText = reasoningText.length === 0 ? part.text : `${reasoningText}\n\n${part.text}`;
        reasoning.push(part);
        break;
      case 'redacted_thinking':
        reasoning.push(part);
        break;
    }
  }
  const message: Record<string, unknown> = { role: 'assistant', content: text };
  // The legacy functions API has one call per turn, as `function_call`.
  const legacyCall = options.legacyFunctions === true ? (calls[0]?.function as Record<string, unknown> | undefined) : undefined;
  if (legacyCall !== undefined) message.function_call = legacyCall;
  else if (calls.length > 0) message.tool_calls = calls;
  if (reasoning.length > 0) {
    message.reasoning_content = reasoningText;
    message.reasoning_details = encodeReasoningDetails(reasoning);
  }
  message.refusal = null;
  return {
    id: res.id.length > 0 ? res.id : `chatcmpl-${randomUUID().replaceAll('-', '')}`,
    object: 'chat.completion',
    created: options.created ?? Math.floor(Date.now() / 1000),
    model: res.model,
    choices: [{ index: 0, message, finish_reason: legacyCall !== undefined ? 'function_call' : finishFromStopReason(res.stopReason, calls.length > 0), logprobs: null }],
    usage: encodeOpenAIUsage(res.usage),
  };
}
