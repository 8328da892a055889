/** Anthropic Messages streaming: the decoder (upstream side) and encoder (client side). */
export { createAnthropicStreamDecoder } from './stream-decoder.ts';
export type { AnthropicStreamDecoder } from './stream-decoder.ts';
export { createAnthropicStreamEncoder } from './stream-encoder.ts';
export type { AnthropicStreamEncoder, AnthropicStreamEncoderOptions } from './stream-encoder.ts';
