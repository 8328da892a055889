/** The Anthropic Messages codec: wire format ↔ internal model. */
export { decodeAnthropicRequest, encodeAnthropicRequest } from './request.ts';
export type { EncodeAnthropicRequestOptions } from './request.ts';
export { decodeAnthropicResponse, encodeAnthropicResponse } from './response.ts';
export { createAnthropicStreamDecoder, createAnthropicStreamEncoder } from './stream.ts';
export type { AnthropicStreamDecoder, AnthropicStreamEncoder, AnthropicStreamEncoderOptions } from './stream.ts';
export { anthropicErrorBody, kindFromAnthropicType } from './errors.ts';
export type { AnthropicErrorBody } from './errors.ts';
