/**
 * The mock reply in OpenAI Chat Completions wire format
 * (https://platform.openai.com/docs/api-reference/chat-streaming): a role chunk,
 * delta chunks, a finish chunk, an optional usage chunk with `choices: []`,
 * then `data: [DONE]`. Thinking goes out as DeepSeek-style `reasoning_content`.
 */
import { openaiErrorBody } from '../protocols/openai/errors.ts';
import { formatSse } from '../protocols/sse.ts';
import type { MockStopReason, Reply } from './reply.ts';
import type { Frame, WireEncoder } from './wire.ts';

const doneFrame = formatSse(undefined, '[DONE]');

const finishReasons: Record<MockStopReason, string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  tool_use: 'tool_calls',
};

function usageOf(reply: Reply): Record<string, unknown> {
  const { inputTokens, cacheReadTokens, outputTokens, reasoningTokens } = reply.usage;
  return {
    prompt_tokens: inputTokens,
    completion_tokens: outputTokens,
    total_tokens: inputTokens + outputTokens,
    prompt_tokens_details: { cached_tokens: cacheReadTokens, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: reasoningTokens,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

export const openaiWire: WireEncoder = {
  protocol: 'openai',

  body(reply, finished) {
    const message: Record<string, unknown> = {
      role: 'assistant',
      content: reply.text === undefined ? null : reply.text.text,
      refusal: null,
      annotations: [],
    };
    if (reply.thinking !== undefined) message['reasoning_content'] = reply.thinking.text;
    if (reply.toolCalls.length > 0) {
      message['tool_calls'] = reply.toolCalls.map((call) => ({
        id: call.id,
        type: 'function',
        function: { name: call.name, arguments: call.json },
      }));
    }
    return JSON.stringify({
      id: reply.id,
      object: 'chat.completion',
      created: reply.created,
      model: reply.model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: finished ? finishReasons[reply.stopReason] : null }],
      usage: usageOf(reply),
      system_fingerprint: null,
    });
  },

  script(reply, includeUsage) {
    // Every chunk shares this envelope; only the delta and finish_reason vary.
    const head = `{"id":${JSON.stringify(reply.id)},"object":"chat.completion.chunk","created":${reply.created},"model":${JSON.stringify(reply.model)},"system_fingerprint":null,"choices":[{"index":0,"delta":`;
    // With include_usage OpenAI sends `"usage":null` on every chunk but the last.
    const tail = includeUsage ? ',"logprobs":null,"finish_reason":null}],"usage":null}' : ',"logprobs":null,"finish_reason":null}]}';
    const chunk = (delta: string, tokens: number): Frame => ({ data: formatSse(undefined, head + delta + tail), tokens });

    const text = reply.text !== undefined;
    const frames: Frame[] = [chunk(text ? '{"role":"assistant","content":""}' : '{"role":"assistant","content":null}', 0)];
    const contentStart = frames.length;
    if (reply.thinking !== undefined) {
      for (const piece of reply.thinking.pieces) {
        frames.push(chunk(`{"reasoning_content":${JSON.stringify(piece.text)}}`, piece.tokens));
      }
    }
    if (reply.text !== undefined) {
      for (const piece of reply.text.pieces) frames.push(chunk(`{"content":${JSON.stringify(piece.text)}}`, piece.tokens));
    }
    reply.toolCalls.forEach((call, index) => {
      const start = `{"index":${index},"id":${JSON.stringify(call.id)},"type":"function","function":{"name":${JSON.stringify(call.name)},"arguments":""}}`;
      frames.push(chunk(`{"tool_calls":[${start}]}`, 0));
      for (const piece of call.pieces) {
        frames.push(
          chunk(`{"tool_calls":[{"index":${index},"function":{"arguments":${JSON.stringify(piece.text)}}}]}`, piece.tokens),
        );
      }
    });
    const tailStart = frames.length;
    const finish = `{}${tail.replace('"finish_reason":null', `"finish_reason":"${finishReasons[reply.stopReason]}"`)}`;
    frames.push({ data: formatSse(undefined, head + finish), tokens: 0 });
    if (includeUsage) {
      const usage = JSON.stringify(usageOf(reply));
      const envelope = head.slice(0, head.indexOf('[{"index":0'));
      frames.push({ data: formatSse(undefined, `${envelope}[],"usage":${usage}}`), tokens: 0 });
    }
    frames.push({ data: doneFrame, tokens: 0 });
    return { frames, contentStart, tailStart };
  },

  errorBody(kind, message) {
    // OpenAI answers an unknown model with a 404 typed invalid_request_error, not by its status.
    if (kind === 'not_found') return JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code: 'model_not_found' } });
    return JSON.stringify(openaiErrorBody(kind, message));
  },

  errorFrame(kind, message) {
    return formatSse(undefined, JSON.stringify(openaiErrorBody(kind, message)));
  },

  terminatorFrame: doneFrame,

  malformedFrame(reply) {
    // A chunk cut off mid-object, as a proxy that truncates a line would leave it.
    return formatSse(undefined, `{"id":${JSON.stringify(reply.id)},"object":"chat.completion.chunk","choices":[{"delta":{"content":"Mo`);
  },
};
