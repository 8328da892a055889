/** OpenAI error bodies: `{ "error": { message, type, param, code } }`. */
import type { ErrorKind } from '../../model/types.ts';

const openaiErrorType: Record<ErrorKind, string> = {
  invalid_request: 'invalid_request_error',
  authentication: 'authentication_error',
  permission: 'permission_error',
  not_found: 'not_found_error',
  request_too_large: 'invalid_request_error',
  rate_limit: 'rate_limit_error',
  api_error: 'api_error',
  overloaded: 'service_unavailable',
  timeout: 'timeout',
};

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export function openaiErrorBody(kind: ErrorKind, message: string, code: string | null = null): OpenAIErrorBody {
  return { error: { message, type: openaiErrorType[kind], param: null, code } };
}

/** Maps an OpenAI error `type`/`code` back to a neutral kind, falling back to the HTTP status. */
export function kindFromOpenAIError(type: unknown, fallback: ErrorKind): ErrorKind {
  switch (type) {
    case 'invalid_request_error':
      return 'invalid_request';
    case 'authentication_error':
      return 'authentication';
    case 'permission_error':
      return 'permission';
    case 'not_found_error':
      return 'not_found';
    case 'rate_limit_error':
    case 'insufficient_quota':
      return 'rate_limit';
    // The types this gateway itself writes for these kinds (see openaiErrorType).
    case 'service_unavailable':
    case 'overloaded_error':
      return 'overloaded';
    case 'timeout':
      return 'timeout';
    default:
      return fallback;
  }
}
