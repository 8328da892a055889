/** OpenAI Chat Completions streaming: chunk SSE ↔ internal stream events. */
export { createOpenAIStreamDecoder } from './stream-decoder.ts';
export type { OpenAIStreamDecoder } from './stream-decoder.ts';
export { createOpenAIStreamEncoder } from './stream-encoder.ts';
export type { OpenAIStreamEncoder, OpenAIStreamEncoderOptions } from './stream-encoder.ts';
