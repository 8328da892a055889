/** Anthropic error bodies: https://docs.anthropic.com/en/api/errors */
import type { ErrorKind } from '../../model/types.ts';

const anthropicErrorType: Record<ErrorKind, string> = {
  invalid_request: 'invalid_request_error',
  authentication: 'authentication_error',
  permission: 'permission_error',
  not_found: 'not_found_error',
  request_too_large: 'request_too_large',
  rate_limit: 'rate_limit_error',
  api_error: 'api_error',
  overloaded: 'overloaded_error',
  timeout: 'timeout_error',
};

const kindByAnthropicType: Record<string, ErrorKind> = Object.fromEntries(
  Object.entries(anthropicErrorType).map(([kind, type]) => [type, kind as ErrorKind]),
);

export interface AnthropicErrorBody {
  type: 'error';
  error: { type: string; message: string };
  request_id?: string;
}

export function anthropicErrorBody(kind: ErrorKind, message: string, requestId?: string): AnthropicErrorBody {
  const body: AnthropicErrorBody = { type: 'error', error: { type: anthropicErrorType[kind], message } };
  if (requestId !== undefined) body.request_id = requestId;
  return body;
}

/** Maps an Anthropic error `type` back to a neutral kind. */
export function kindFromAnthropicType(type: unknown): ErrorKind {
  return (typeof type === 'string' && kindByAnthropicType[type]) || 'api_error';
}
