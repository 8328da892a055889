/**
 * The mock reply in Anthropic Messages wire format
 * (https://docs.anthropic.com/en/docs/build-with-claude/streaming): message_start,
 * ping, content_block_start/delta/stop per block, message_delta, message_stop.
 * Frequent frames are built from string templates, not JSON.stringify of objects.
 */
import { anthropicErrorBody } from '../protocols/anthropic/errors.ts';
import { formatSse } from '../protocols/sse.ts';
import type { Reply } from './reply.ts';
import type { Frame, StreamScript, WireEncoder } from './wire.ts';

const pingFrame = formatSse('ping', '{"type":"ping"}');
const stopFrame = formatSse('message_stop', '{"type":"message_stop"}');

function usageOf(reply: Reply, outputTokens: number): Record<string, number> {
  const { inputTokens, cacheReadTokens } = reply.usage;
  // Anthropic's input_tokens excludes cache reads (see Usage in src/model/types.ts).
  return {
    input_tokens: inputTokens - cacheReadTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cacheReadTokens,
    output_tokens: outputTokens,
  };
}

function contentOf(reply: Reply): Array<Record<string, unknown>> {
  const content: Array<Record<string, unknown>> = [];
  if (reply.thinking !== undefined) {
    content.push({ type: 'thinking', thinking: reply.thinking.text, signature: reply.thinking.signature });
  }
  if (reply.text !== undefined) content.push({ type: 'text', text: reply.text.text });
  for (const call of reply.toolCalls) content.push({ type: 'tool_use', id: call.id, name: call.name, input: call.input });
  return content;
}

function blockStart(index: number, block: string): Frame {
  return {
    data: formatSse('content_block_start', `{"type":"content_block_start","index":${index},"content_block":${block}}`),
    tokens: 0,
  };
}

function blockDelta(index: number, delta: string, tokens: number): Frame {
  return { data: formatSse('content_block_delta', `{"type":"content_block_delta","index":${index},"delta":${delta}}`), tokens };
}

function blockStop(index: number): Frame {
  return { data: formatSse('content_block_stop', `{"type":"content_block_stop","index":${index}}`), tokens: 0 };
}

export const anthropicWire: WireEncoder = {
  protocol: 'anthropic',

  body(reply, finished) {
    return JSON.stringify({
      id: reply.id,
      type: 'message',
      role: 'assistant',
      model: reply.model,
      content: contentOf(reply),
      stop_reason: finished ? reply.stopReason : null,
      stop_sequence: finished ? reply.stopSequence : null,
      usage: usageOf(reply, reply.usage.outputTokens),
    });
  },

  script(reply) {
    const message = {
      id: reply.id,
      type: 'message',
      role: 'assistant',
      model: reply.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: usageOf(reply, 1),
    };
    const frames: Frame[] = [
      { data: formatSse('message_start', `{"type":"message_start","message":${JSON.stringify(message)}}`), tokens: 0 },
      { data: pingFrame, tokens: 0 },
    ];
    const contentStart = frames.length;
    let index = 0;
    if (reply.thinking !== undefined) {
      frames.push(blockStart(index, '{"type":"thinking","thinking":"","signature":""}'));
      for (const piece of reply.thinking.pieces) {
        frames.push(blockDelta(index, `{"type":"thinking_delta","thinking":${JSON.stringify(piece.text)}}`, piece.tokens));
      }
      frames.push(blockDelta(index, `{"type":"signature_delta","signature":${JSON.stringify(reply.thinking.signature)}}`, 0));
      frames.push(blockStop(index++));
    }
    if (reply.text !== undefined) {
      frames.push(blockStart(index, '{"type":"text","text":""}'));
      for (const piece of reply.text.pieces) {
        frames.push(blockDelta(index, `{"type":"text_delta","text":${JSON.stringify(piece.text)}}`, piece.tokens));
      }
      frames.push(blockStop(index++));
    }
    for (const call of reply.toolCalls) {
      frames.push(
        blockStart(index, `{"type":"tool_use","id":${JSON.stringify(call.id)},"name":${JSON.stringify(call.name)},"input":{}}`),
      );
      for (const piece of call.pieces) {
        frames.push(blockDelta(index, `{"type":"input_json_delta","partial_json":${JSON.stringify(piece.text)}}`, piece.tokens));
      }
      frames.push(blockStop(index++));
    }
    const tailStart = frames.length;
    const delta = `{"stop_reason":"${reply.stopReason}","stop_sequence":${JSON.stringify(reply.stopSequence)}}`;
    frames.push({
      data: formatSse(
        'message_delta',
        `{"type":"message_delta","delta":${delta},"usage":{"output_tokens":${reply.usage.outputTokens}}}`,
      ),
      tokens: 0,
    });
    frames.push({ data: stopFrame, tokens: 0 });
    return { frames, contentStart, tailStart } satisfies StreamScript;
  },

  errorBody(kind, message, requestId) {
    return JSON.stringify(anthropicErrorBody(kind, message, requestId));
  },

  errorFrame(kind, message) {
    return formatSse('error', JSON.stringify(anthropicErrorBody(kind, message)));
  },

  terminatorFrame: stopFrame,

  malformedFrame() {
    // Cut off mid-object, as a proxy that truncates a line would leave it.
    return formatSse('content_block_start', '{"type":"content_block_start","index":0,"content_block":{"type":"text"');
  },
};
