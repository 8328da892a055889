/**
 * Anthropic Messages SSE -> internal stream events
 * (https://docs.anthropic.com/en/docs/build-with-claude/streaming).
 *
 * The event's `type` inside the JSON is authoritative (the SSE `event:` line
 * repeats it). Blocks with no internal equivalent (server_tool_use,
 * web_search_tool_result, …) are dropped and the remaining blocks renumbered
 * so internal indexes stay 0, 1, 2… whatever the upstream interleaved.
 */
import type { BlockDelta, StreamEvent } from '../../model/types.ts';
import type { SseMessage } from '../sse.ts';
import { kindFromAnthropicType } from './errors.ts';
import { isObject } from './shape.ts';
import type { JsonObject } from './shape.ts';
import { decodeStopReason, decodeUsage } from './wire.ts';

export interface AnthropicStreamDecoder {
  push(msg: SseMessage): StreamEvent[];
  end(): StreamEvent[];
  /** The upstream ended the answer itself: a stop reason, `message_stop` or an error. */
  readonly finished: boolean;
}

const DROPPED = -1;
/** Shared empty result (frozen: a caller that mutates it fails loudly). */
const none = Object.freeze([]) as unknown as StreamEvent[];

export function createAnthropicStreamDecoder(): AnthropicStreamDecoder {
  /** Upstream block index -> internal index, or DROPPED. */
  const indexes = new Map<number, number>();
  let nextIndex = 0;
  let finished = false;
  /** A stop reason means the answer is complete even if message_stop never comes. */
  let gaveStopReason = false;
  /** The open tool_use block (internal index) and whether it got any arguments. */
  let openTool = DROPPED;
  let toolHasArgs = false;

  /**
   * Every decoder promises that a tool call's concatenated tool_args parse as
   * JSON: Anthropic sends only an empty partial_json for a tool without
   * parameters, so `{}` stands in for it.
   */
  function closeTool(): StreamEvent[] {
    const index = openTool;
    openTool = DROPPED;
    return toolHasArgs || index === DROPPED ? none : [{ type: 'block_delta', index, delta: { type: 'tool_args', json: '{}' } }];
  }

  function internalIndex(data: JsonObject): number {
    const index = data.index;
    return typeof index === 'number' ? (indexes.get(index) ?? DROPPED) : DROPPED;
  }

  function blockStart(data: JsonObject): StreamEvent[] {
    const block = data.content_block;
    if (typeof data.index !== 'number' || !isObject(block)) return none;
    let events: StreamEvent[];
    const index = nextIndex;
    switch (block.type) {
      case 'text':
        events = [{ type: 'block_start', index, block: { type: 'text' } }];
        // Anthropic starts text empty; a proxy may not.
        if (typeof block.text === 'string' && block.text.length > 0) {
          events.push({ type: 'block_delta', index, delta: { type: 'text', text: block.text } });
        }
        break;
      case 'thinking':
        events = [{ type: 'block_start', index, block: { type: 'thinking' } }];
        if (typeof block.thinking === 'string' && block.thinking.length > 0) {
          events.push({ type: 'block_delta', index, delta: { type: 'thinking', text: block.thinking } });
        }
        if (typeof block.signature === 'string' && block.signature.length > 0) {
          events.push({ type: 'block_delta', index, delta: { type: 'signature', signature: block.signature } });
        }
        break;
      case 'redacted_thinking':
        events = [{ type: 'block_start', index, block: { type: 'redacted_thinking', data: String(block.data ?? '') } }];
        break;
      case 'tool_use': {
        const id = typeof block.id === 'string' ? block.id : '';
        const name = typeof block.name === 'string' ? block.name : '';
        events = [{ type: 'block_start', index, block: { type: 'tool_call', id, name } }];
        openTool = index;
        toolHasArgs = false;
        // The input arrives as input_json_delta; a non-empty start input (not
        // sent by Anthropic itself) would otherwise be lost.
        if (isObject(block.input) && Object.keys(block.input).length > 0) {
          toolHasArgs = true;
          events.push({ type: 'block_delta', index, delta: { type: 'tool_args', json: JSON.stringify(block.input) } });
        }
        break;
      }
      default:
        indexes.set(data.index, DROPPED);
        return none;
    }
    indexes.set(data.index, index);
    nextIndex++;
    return events;
  }

  function blockDelta(data: JsonObject): StreamEvent[] {
    const index = internalIndex(data);
    const d = data.delta;
    if (index === DROPPED || !isObject(d)) return none;
    let delta: BlockDelta;
    switch (d.type) {
      case 'text_delta':
        if (typeof d.text !== 'string' || d.text.length === 0) return none;
        delta = { type: 'text', text: d.text };
        break;
      case 'thinking_delta':
        if (typeof d.thinking !== 'string' || d.thinking.length === 0) return none;
        delta = { type: 'thinking', text: d.thinking };
        break;
      case 'signature_delta':
        if (typeof d.signature !== 'string' || d.signature.length === 0) return none;
        delta = { type: 'signature', signature: d.signature };
        break;
      case 'input_json_delta':
        if (typeof d.partial_json !== 'string' || d.partial_json.length === 0) return none;
        if (index === openTool) toolHasArgs = true;
        delta = { type: 'tool_args', json: d.partial_json };
        break;
      default:
        // citations_delta and future kinds: nothing to carry them in.
        return none;
    }
    return [{ type: 'block_delta', index, delta }];
  }

  function decode(data: JsonObject): StreamEvent[] {
    switch (data.type) {
      case 'message_start': {
        const m = isObject(data.message) ? data.message : {};
        const usage = decodeUsage(m.usage);
        return [
          {
            type: 'message_start',
            id: typeof m.id === 'string' ? m.id : '',
            model: typeof m.model === 'string' ? m.model : '',
            usage,
          },
        ];
      }
      case 'content_block_start':
        return blockStart(data);
      case 'content_block_delta':
        return blockDelta(data);
      case 'content_block_stop': {
        const index = internalIndex(data);
        if (index === DROPPED) return none;
        const stop: StreamEvent = { type: 'block_stop', index };
        return index === openTool ? [...closeTool(), stop] : [stop];
      }
      case 'message_delta': {
        const d = isObject(data.delta) ? data.delta : {};
        const ev: StreamEvent = { type: 'message_delta', stopReason: decodeStopReason(d.stop_reason) };
        if (ev.stopReason !== null) gaveStopReason = true;
        if (typeof d.stop_sequence === 'string') ev.stopSequence = d.stop_sequence;
        if (data.usage !== undefined) ev.usage = decodeUsage(data.usage);
        return [ev];
      }
      case 'message_stop':
        finished = true;
        return [{ type: 'message_stop' }];
      case 'ping':
        return [{ type: 'ping' }];
      case 'error': {
        finished = true;
        const e = isObject(data.error) ? data.error : {};
        const message = typeof e.message === 'string' ? e.message : 'upstream stream error';
        return [{ type: 'error', error: { kind: kindFromAnthropicType(e.type), message } }];
      }
      default:
        // New event types are allowed by the API's versioning policy: ignore.
        return none;
    }
  }

  return {
    push(msg) {
      if (finished) return none;
      let data: unknown;
      try {
        data = JSON.parse(msg.data);
      } catch {
        finished = true;
        return [{ type: 'error', error: { kind: 'api_error', message: 'upstream sent malformed SSE data (invalid JSON)' } }];
      }
      return isObject(data) ? decode(data) : none;
    },
    // A stream cut before message_stop is left open: the encoder on the other
    // side closes it well-formed, and the missing stop reason tells the
    // gateway the answer was truncated. Only a tool call still waiting for
    // its arguments gets its `{}`.
    end: () => (finished ? none : closeTool()),
    get finished() {
      return finished || gaveStopReason;
    },
  };
}
