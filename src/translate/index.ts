/**
 * The translate facade: composes one protocol's decoder with another's
 * encoder, by protocol name (ARCHITECTURE.md, "One internal model, one codec
 * per protocol"). Only used when client and upstream protocols differ;
 * same-protocol traffic passes through untouched.
 */
import type { ChatRequest, ChatResponse, ProtocolName } from '../model/types.ts';
import { codecs } from './codecs.ts';
import type { EncodeRequestOptions, EncodeResponseOptions } from './codecs.ts';

export { createStreamDecoder, createStreamEncoder } from './codecs.ts';
export type { EncodeRequestOptions, StreamDecoder, StreamEncoder, StreamEncoderOptions } from './codecs.ts';
export { createStreamTranslator } from './stream-translator.ts';
export type { StreamTranslator, StreamTranslatorOptions } from './stream-translator.ts';
export { observeUsage } from './usage.ts';

/** Decodes a client's request body; throws GatewayError SWY_ERR_INVALID_REQUEST naming the bad field. */
export function decodeRequest(protocol: ProtocolName, body: unknown): ChatRequest {
  return codecs[protocol].decodeRequest(body);
}

/**
 * Builds the upstream request body for `protocol`.
 *
 * @example
 * encodeRequest('anthropic', decodeRequest('openai', body), 'claude-sonnet-4-5', { defaultMaxTokens: 8192 })
 */
export function encodeRequest(
  protocol: ProtocolName,
  req: ChatRequest,
  upstreamModel: string,
  options: EncodeRequestOptions = {},
): Record<string, unknown> {
  return codecs[protocol].encodeRequest(req, upstreamModel, options);
}

/** Decodes an upstream's complete response; throws GatewayError SWY_ERR_UPSTREAM_BAD_RESPONSE. */
export function decodeResponse(protocol: ProtocolName, body: unknown): ChatResponse {
  return codecs[protocol].decodeResponse(body);
}

/** Encodes a response for a client of `protocol`. */
export function encodeResponse(protocol: ProtocolName, res: ChatResponse, options?: EncodeResponseOptions): Record<string, unknown> {
  return codecs[protocol].encodeResponse(res, options);
}
