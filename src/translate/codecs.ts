/** The codecs of every protocol, as one typed table keyed by protocol name. */
import type { ChatRequest, ChatResponse, ProtocolName, StreamEvent } from '../model/types.ts';
import { decodeAnthropicRequest, encodeAnthropicRequest } from '../protocols/anthropic/request.ts';
import { decodeAnthropicResponse, encodeAnthropicResponse } from '../protocols/anthropic/response.ts';
import { createAnthropicStreamDecoder, createAnthropicStreamEncoder } from '../protocols/anthropic/stream.ts';
import type { OpenAIQuirks } from '../protocols/openai/quirks.ts';
import { decodeOpenAIRequest, encodeOpenAIRequest } from '../protocols/openai/request.ts';
import { decodeOpenAIResponse, encodeOpenAIResponse } from '../protocols/openai/response.ts';
import { createOpenAIStreamDecoder, createOpenAIStreamEncoder } from '../protocols/openai/stream.ts';
import type { SseMessage } from '../protocols/sse.ts';

export interface EncodeRequestOptions {
  /** Anthropic upstreams: `max_tokens` when the client gave none. */
  defaultMaxTokens?: number;
  /** OpenAI-compatible upstreams: the provider's differences. */
  quirks?: Partial<OpenAIQuirks>;
}

export interface StreamDecoder {
  push(msg: SseMessage): StreamEvent[];
  end(): StreamEvent[];
  /** The upstream ended the answer itself (its terminator, a finish reason, or an error). */
  readonly finished: boolean;
}

export interface StreamEncoder {
  push(ev: StreamEvent): string;
  end(): string;
}

export interface StreamEncoderOptions {
  /** OpenAI clients: send a final usage chunk (`stream_options.include_usage`). */
  includeUsage: boolean;
  /** The model name the client asked for, shown instead of the upstream's. */
  model?: string;
  /** OpenAI clients of the legacy `functions` API: calls go out as `function_call`. */
  legacyFunctions?: boolean;
}

export interface EncodeResponseOptions {
  /** OpenAI clients of the legacy `functions` API: calls go out as `function_call`. */
  legacyFunctions?: boolean;
}

export interface Codec {
  decodeRequest(body: unknown): ChatRequest;
  encodeRequest(req: ChatRequest, upstreamModel: string, options: EncodeRequestOptions): Record<string, unknown>;
  decodeResponse(body: unknown): ChatResponse;
  encodeResponse(res: ChatResponse, options?: EncodeResponseOptions): Record<string, unknown>;
  createStreamDecoder(): StreamDecoder;
  createStreamEncoder(options: StreamEncoderOptions): StreamEncoder;
}

export const codecs: Readonly<Record<ProtocolName, Codec>> = {
  anthropic: {
    decodeRequest: decodeAnthropicRequest,
    encodeRequest: encodeAnthropicRequest,
    decodeResponse: decodeAnthropicResponse,
    encodeResponse: encodeAnthropicResponse,
    createStreamDecoder: createAnthropicStreamDecoder,
    createStreamEncoder: createAnthropicStreamEncoder,
  },
  openai: {
    decodeRequest: decodeOpenAIRequest,
    encodeRequest: (req, model, options) => encodeOpenAIRequest(req, model, options.quirks),
    decodeResponse: decodeOpenAIResponse,
    encodeResponse: (res, options) => encodeOpenAIResponse(res, { legacyFunctions: options?.legacyFunctions === true }),
    createStreamDecoder: createOpenAIStreamDecoder,
    createStreamEncoder: createOpenAIStreamEncoder,
  },
};

export function createStreamDecoder(protocol: ProtocolName): StreamDecoder {
  return codecs[protocol].createStreamDecoder();
}

export function createStreamEncoder(protocol: ProtocolName, options: StreamEncoderOptions): StreamEncoder {
  return codecs[protocol].createStreamEncoder(options);
}
