/**
 * Internal stream events -> Anthropic Messages SSE, for an Anthropic client of
 * a non-Anthropic upstream
 * (https://docs.anthropic.com/en/docs/build-with-claude/streaming).
 *
 * Whatever the upstream did, the client gets a well-formed stream:
 * message_start, then blocks one at a time (start, deltas, stop) numbered from
 * 0, then message_delta with a stop reason and message_stop — or an `error`
 * event, after which nothing more is written.
 */
import { randomUUID } from 'node:crypto';
import type { BlockDelta, BlockStart, StreamEvent, Usage } from '../../model/types.ts';
import { formatSse } from '../sse.ts';
import { anthropicErrorBody } from './errors.ts';

export interface AnthropicStreamEncoder {
  /** SSE text for one event; '' when the event produces nothing. */
  push(ev: StreamEvent): string;
  /** Closes the stream: whatever is still open is closed well-formed. */
  end(): string;
}

export interface AnthropicStreamEncoderOptions {
  /** The model name the client asked for; overrides the upstream's. */
  model?: string;
}

type BlockKind = 'text' | 'thinking' | 'redacted_thinking' | 'tool_call';

interface OpenBlock {
  internal: number;
  out: number;
  kind: BlockKind;
  argsSent: boolean;
}

/** Which block kind accepts which delta; others would confuse a client's accumulator. */
const deltaKind: Readonly<Record<BlockDelta['type'], BlockKind>> = {
  text: 'text',
  thinking: 'thinking',
  signature: 'thinking',
  tool_args: 'tool_call',
};

const PING = formatSse('ping', '{"type":"ping"}');
const MESSAGE_STOP = formatSse('message_stop', '{"type":"message_stop"}');

export function createAnthropicStreamEncoder(options: AnthropicStreamEncoderOptions = {}): AnthropicStreamEncoder {
  let started = false;
  let deltaSent = false;
  let finished = false;
  let usedTools = false;
  let open: OpenBlock | undefined;
  let nextOut = 0;
  /** Internal indexes already opened: a closed block is never reopened. */
  const seen = new Set<number>();
  const usage: Partial<Usage> = {};

  function mergeUsage(u: Partial<Usage> | undefined): void {
    if (u === undefined) return;
    // Anthropic counts are cumulative: the latest value wins.
    if (u.inputTokens !== undefined) usage.inputTokens = u.inputTokens;
    if (u.outputTokens !== undefined) usage.outputTokens = u.outputTokens;
    if (u.cacheReadTokens !== undefined) usage.cacheReadTokens = u.cacheReadTokens;
    if (u.cacheWriteTokens !== undefined) usage.cacheWriteTokens = u.cacheWriteTokens;
  }

  function messageStart(id: string, model: string): string {
    started = true;
    const u: Record<string, number> = { input_tokens: usage.inputTokens ?? 0, output_tokens: usage.outputTokens ?? 0 };
    if (usage.cacheWriteTokens !== undefined) u.cache_creation_input_tokens = usage.cacheWriteTokens;
    if (usage.cacheReadTokens !== undefined) u.cache_read_input_tokens = usage.cacheReadTokens;
    const message = {
      id: id.length > 0 ? id : `msg_${randomUUID().replaceAll('-', '')}`,
      type: 'message',
      role: 'assistant',
      model: options.model ?? (model.length > 0 ? model : 'unknown'),
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: u,
    };
    return formatSse('message_start', JSON.stringify({ type: 'message_start', message }));
  }

  function ensureStarted(): string {
    return started ? '' : messageStart('', '');
  }

  function closeOpen(): string {
    if (open === undefined) return '';
    const block = open;
    open = undefined;
    let out = '';
    // A tool call without arguments must still parse as an object on the client.
    if (block.kind === 'tool_call' && !block.argsSent) out += argsDelta(block.out, '{}');
    return out + formatSse('content_block_stop', `{"type":"content_block_stop","index":${block.out}}`);
  }

  function openBlock(internal: number, block: BlockStart): string {
    let out = ensureStarted() + closeOpen();
    seen.add(internal);
    const index = nextOut++;
    open = { internal, out: index, kind: block.type, argsSent: false };
    let wire: Record<string, unknown>;
    switch (block.type) {
      case 'text':
        wire = { type: 'text', text: '' };
        break;
      case 'thinking':
        wire = { type: 'thinking', thinking: '', signature: '' };
        break;
      case 'redacted_thinking':
        wire = { type: 'redacted_thinking', data: block.data };
        break;
      case 'tool_call':
        usedTools = true;
        // Some OpenAI-compatible providers send no tool call id; the client
        // needs one to answer with a tool_result.
        wire = { type: 'tool_use', id: block.id || `toolu_${randomUUID().replaceAll('-', '')}`, name: block.name, input: {} };
        break;
    }
    out += formatSse('content_block_start', JSON.stringify({ type: 'content_block_start', index, content_block: wire }));
    return out;
  }

  function blockDelta(index: number, delta: BlockDelta): string {
    let out = '';
    if (open === undefined || open.internal !== index) {
      // Text or thinking for a block never started: start it. Anything else
      // (args or a signature without their block, a closed block) is dropped.
      if (seen.has(index) || (delta.type !== 'text' && delta.type !== 'thinking')) return '';
      out = openBlock(index, { type: delta.type });
    }
    const block = open!;
    if (deltaKind[delta.type] !== block.kind) return out;
    switch (delta.type) {
      case 'text':
        return out + formatSse('content_block_delta', `{"type":"content_block_delta","index":${block.out},"delta":{"type":"text_delta","text":${JSON.stringify(delta.text)}}}`);
      case 'thinking':
        return out + formatSse('content_block_delta', `{"type":"content_block_delta","index":${block.out},"delta":{"type":"thinking_delta","thinking":${JSON.stringify(delta.text)}}}`);
      case 'signature':
        return out + formatSse('content_block_delta', `{"type":"content_block_delta","index":${block.out},"delta":{"type":"signature_delta","signature":${JSON.stringify(delta.signature)}}}`);
      case 'tool_args':
        if (delta.json.length === 0) return out;
        block.argsSent = true;
        return out + argsDelta(block.out, delta.json);
    }
  }

  function messageDelta(ev: Extract<StreamEvent, { type: 'message_delta' }> | undefined): string {
    const out = ensureStarted() + closeOpen();
    deltaSent = true;
    const reason = ev?.stopReason ?? (usedTools ? 'tool_use' : 'end_turn');
    const u: Record<string, number> = { output_tokens: usage.outputTokens ?? 0 };
    if (usage.inputTokens !== undefined) u.input_tokens = usage.inputTokens;
    if (usage.cacheWriteTokens !== undefined) u.cache_creation_input_tokens = usage.cacheWriteTokens;
    if (usage.cacheReadTokens !== undefined) u.cache_read_input_tokens = usage.cacheReadTokens;
    const data = {
      type: 'message_delta',
      delta: { stop_reason: reason, stop_sequence: ev?.stopSequence ?? null },
      usage: u,
    };
    return out + formatSse('message_delta', JSON.stringify(data));
  }

  function finish(): string {
    const out = (deltaSent ? ensureStarted() + closeOpen() : messageDelta(undefined)) + MESSAGE_STOP;
    finished = true;
    return out;
  }

  return {
    push(ev) {
      if (finished) return '';
      switch (ev.type) {
        case 'message_start':
          if (started) return '';
          mergeUsage(ev.usage);
          return messageStart(ev.id, ev.model);
        case 'block_start':
          // Blocks after the final message_delta would make an invalid stream.
          return deltaSent || seen.has(ev.index) ? '' : openBlock(ev.index, ev.block);
        case 'block_delta':
          return deltaSent ? '' : blockDelta(ev.index, ev.delta);
        case 'block_stop':
          return open !== undefined && open.internal === ev.index ? closeOpen() : '';
        case 'message_delta':
          mergeUsage(ev.usage);
          return deltaSent ? '' : messageDelta(ev);
        case 'message_stop':
          return finish();
        case 'ping':
          return PING;
        case 'error':
          finished = true;
          return formatSse('error', JSON.stringify(anthropicErrorBody(ev.error.kind, ev.error.message)));
      }
    },
    end() {
      return finished ? '' : finish();
    },
  };
}

function argsDelta(index: number, json: string): string {
  return formatSse(
    'content_block_delta',
    `{"type":"content_block_delta","index":${index},"delta":{"type":"input_json_delta","partial_json":${JSON.stringify(json)}}}`,
  );
}
