/** The OpenAI Chat Completions codec: wire format ↔ internal model. */
export { decodeOpenAIRequest, encodeOpenAIRequest } from './request.ts';
export { decodeOpenAIResponse, encodeOpenAIResponse } from './response.ts';
export { createOpenAIStreamDecoder, createOpenAIStreamEncoder } from './stream.ts';
export type { OpenAIStreamDecoder, OpenAIStreamEncoder, OpenAIStreamEncoderOptions } from './stream.ts';
export { defaultOpenAIQuirks, openAIPresets, resolveOpenAIQuirks } from './quirks.ts';
export type { OpenAIPreset, OpenAIPresetName, OpenAIQuirks } from './quirks.ts';
export { kindFromOpenAIError, openaiErrorBody } from './errors.ts';
export type { OpenAIErrorBody } from './errors.ts';
export { openAIToolName, restoreToolNames, shortenedToolNames } from './tool-names.ts';
