/**
 * Internal stream events → OpenAI `chat.completion.chunk` SSE text, one event
 * in, zero or more SSE messages out. The part of every chunk that never
 * changes (id, object, created, model) is serialised once per stream.
 */
import type { StreamEvent, Usage } from '../../model/types.ts';
import { formatSse } from '../sse.ts';
import { openaiErrorBody } from './errors.ts';
import { ANTHROPIC_REASONING_FORMAT, encodeOpenAIUsage, finishFromStopReason } from './shared.ts';
import { rememberSignedThinking } from './signed-thinking.ts';

export interface OpenAIStreamEncoderOptions {
  /** The client's `stream_options.include_usage`: adds a final usage chunk. */
  includeUsage: boolean;
  /** The model name to show the client (defaults to the one in message_start). */
  model?: string;
  /** Unix seconds for `created`; defaults to now. */
  created?: number;
  /** A client of the legacy functions API: the first call goes out as `function_call`, the rest are dropped. */
  legacyFunctions?: boolean;
}

export interface OpenAIStreamEncoder {
  push(ev: StreamEvent): string;
  end(): string;
}

const DONE = formatSse(undefined, '[DONE]');
const CHOICE_TAIL = ',"finish_reason":null,"logprobs":null}]}';

export function createOpenAIStreamEncoder(options: OpenAIStreamEncoderOptions): OpenAIStreamEncoder {
  return new Encoder(options);
}

class Encoder implements OpenAIStreamEncoder {
  #includeUsage: boolean;
  #model: string | undefined;
  #created: number;
  #id = '';
  /** `{"id":…,"model":…,"choices":[{"index":0,"delta":` — everything before the delta. */
  #head = '';
  #started = false;
  #finished = false;
  #done = false;
  /** Internal block index → OpenAI tool_calls index (0, 1, 2… in call order). */
  #toolIndex = new Map<number, number>();
  /**
   * Internal block index → place among the reasoning blocks (thinking and
   * redacted), the `index` of their `reasoning_details`, as in a non-streamed answer.
   */
  #reasoningIndex = new Map<number, number>();
  #usage: Partial<Usage> = {};
  /** Internal block index → its thinking text so far, remembered with its signature (see signed-thinking.ts). */
  #thinkingText = new Map<number, string>();

  #legacyFunctions: boolean;

  constructor(options: OpenAIStreamEncoderOptions) {
    this.#legacyFunctions = options.legacyFunctions === true;
    this.#includeUsage = options.includeUsage;
    this.#model = options.model;
    this.#created = options.created ?? Math.floor(Date.now() / 1000);
  }

  push(ev: StreamEvent): string {
    if (this.#done) return '';
    switch (ev.type) {
      case 'message_start':
        if (this.#started) return '';
        if (ev.usage !== undefined) mergeUsage(this.#usage, ev.usage);
        return this.#start(ev.id, ev.model);
      case 'block_start':
        switch (ev.block.type) {
          case 'tool_call': {
            const index = this.#toolIndex.size;
            if (this.#legacyFunctions) {
              // One call per turn in the legacy API: later ones are not sent.
              if (index > 0) return '';
              this.#toolIndex.set(ev.index, index);
              return this.#chunk(`{"function_call":${JSON.stringify({ name: ev.block.name, arguments: '' })}}`);
            }
            this.#toolIndex.set(ev.index, index);
            const call = { index, id: ev.block.id, type: 'function', function: { name: ev.block.name, arguments: '' } };
            return this.#chunk(`{"tool_calls":[${JSON.stringify(call)}]}`);
          }
          case 'redacted_thinking': {
            const detail = { type: 'reasoning.encrypted', data: ev.block.data, format: ANTHROPIC_REASONING_FORMAT, index: this.#reasoningOrdinal(ev.index) };
            return this.#chunk(`{"reasoning_details":[${JSON.stringify(detail)}]}`);
          }
          case 'thinking':
            this.#reasoningOrdinal(ev.index);
            return this.#started ? '' : this.#start('', '');
          default:
            return this.#started ? '' : this.#start('', '');
        }
      case 'block_delta':
        return this.#delta(ev.index, ev.delta);
      case 'message_delta':
        if (ev.usage !== undefined) mergeUsage(this.#usage, ev.usage);
        return this.#finish(ev.stopReason);
      case 'message_stop':
        return this.#close();
      case 'error':
        // OpenAI's mid-stream error shape; no [DONE] follows an error.
        this.#done = true;
        return formatSse(undefined, JSON.stringify(openaiErrorBody(ev.error.kind, ev.error.message)));
      case 'block_stop':
      case 'ping':
        return '';
    }
  }

  end(): string {
    return this.#close();
  }

  #reasoningOrdinal(block: number): number {
    let ordinal = this.#reasoningIndex.get(block);
    if (ordinal === undefined) {
      ordinal = this.#reasoningIndex.size;
      this.#reasoningIndex.set(block, ordinal);
    }
    return ordinal;
  }

  #delta(block: number, delta: Extract<StreamEvent, { type: 'block_delta' }>['delta']): string {
    switch (delta.type) {
      case 'text':
        return this.#chunk(`{"content":${JSON.stringify(delta.text)}}`);
      case 'thinking': {
        // Both shapes, as OpenRouter streams them: DeepSeek-style clients read reasoning_content,
        // OpenRouter-style ones merge reasoning_details by index, text and signature together.
        this.#thinkingText.set(block, (this.#thinkingText.get(block) ?? '') + delta.text);
        const text = JSON.stringify(delta.text);
        const detail = `{"type":"reasoning.text","text":${text},"index":${this.#reasoningOrdinal(block)}}`;
        return this.#chunk(`{"reasoning_content":${text},"reasoning_details":[${detail}]}`);
      }
      case 'signature': {
        rememberSignedThinking(delta.signature, this.#thinkingText.get(block) ?? '');
        this.#thinkingText.delete(block);
        const detail = { type: 'reasoning.text', signature: delta.signature, format: ANTHROPIC_REASONING_FORMAT, index: this.#reasoningOrdinal(block) };
        return this.#chunk(`{"reasoning_details":[${JSON.stringify(detail)}]}`);
      }
      case 'tool_args': {
        const index = this.#toolIndex.get(block);
        if (index === undefined) return '';
        if (this.#legacyFunctions) return this.#chunk(`{"function_call":{"arguments":${JSON.stringify(delta.json)}}}`);
        return this.#chunk(`{"tool_calls":[{"index":${index},"function":{"arguments":${JSON.stringify(delta.json)}}}]}`);
      }
    }
  }

  #start(id: string, model: string): string {
    this.#started = true;
    this.#id = id;
    this.#model ??= model;
    this.#head =
      `{"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${this.#created},` +
      `"model":${JSON.stringify(this.#model)},"choices":[{"index":0,"delta":`;
    return formatSse(undefined, `${this.#head}{"role":"assistant","content":""}${CHOICE_TAIL}`);
  }

  /** One chunk; the role chunk first if the stream had no message_start. */
  #chunk(delta: string): string {
    const first = this.#started ? '' : this.#start('', '');
    return first + formatSse(undefined, this.#head + delta + CHOICE_TAIL);
  }

  #finish(stopReason: Extract<StreamEvent, { type: 'message_delta' }>['stopReason']): string {
    if (this.#finished) return '';
    this.#finished = true;
    const first = this.#started ? '' : this.#start('', '');
    const called = this.#toolIndex.size > 0;
    const reason = this.#legacyFunctions && called ? 'function_call' : finishFromStopReason(stopReason, called);
    return first + formatSse(undefined, `${this.#head}{},"finish_reason":"${reason}","logprobs":null}]}`);
  }

  #close(): string {
    if (this.#done) return '';
    let out = this.#finish(null);
    if (this.#includeUsage) {
      const chunk = {
        id: this.#id,
        object: 'chat.completion.chunk',
        created: this.#created,
        model: this.#model ?? '',
        choices: [],
        usage: encodeOpenAIUsage(this.#usage),
      };
      out += formatSse(undefined, JSON.stringify(chunk));
    }
    this.#done = true;
    return out + DONE;
  }
}

/** Later counts replace earlier ones (Anthropic's message_delta usage is cumulative). */
function mergeUsage(into: Partial<Usage>, from: Partial<Usage>): void {
  if (from.inputTokens !== undefined) into.inputTokens = from.inputTokens;
  if (from.outputTokens !== undefined) into.outputTokens = from.outputTokens;
  if (from.cacheReadTokens !== undefined) into.cacheReadTokens = from.cacheReadTokens;
  if (from.cacheWriteTokens !== undefined) into.cacheWriteTokens = from.cacheWriteTokens;
  if (from.reasoningTokens !== undefined) into.reasoningTokens = from.reasoningTokens;
}
