/**
 * CORS for browser clients, opt-in (`server.corsOrigins`). Off by default: a
 * gateway on a laptop holds provider keys, and with CORS open any web page the
 * user visits could spend them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Headers a browser client may read: the request id and the retry hints. */
const EXPOSED = 'x-request-id, request-id, retry-after, retry-after-ms';
/** What a preflight allows when the browser does not say which headers it wants. */
const DEFAULT_ALLOWED_HEADERS = 'authorization, content-type, x-api-key, anthropic-version, anthropic-beta, x-request-id';

/**
 * Returns undefined when no origin is allowed; otherwise a function that adds
 * the CORS headers for an allowed `Origin` and answers its preflight itself
 * (returning true: the request is done).
 */
export function corsHandler(origins: readonly string[]): ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined {
  if (origins.length === 0) return undefined;
  const any = origins.includes('*');
  const allowed = new Set(origins.map((o) => o.toLowerCase()));
  return (req, res) => {
    const origin = req.headers.origin;
    if (origin === undefined || (!any && !allowed.has(origin.toLowerCase()))) return false;
    res.setHeader('access-control-allow-origin', any ? '*' : origin);
    if (!any) res.setHeader('vary', 'Origin');
    res.setHeader('access-control-expose-headers', EXPOSED);
    if (req.method !== 'OPTIONS' || req.headers['access-control-request-method'] === undefined) return false;
    const wanted = req.headers['access-control-request-headers'];
    res.writeHead(204, {
      'access-control-allow-methods': 'GET, POST, OPTIONS',
      'access-control-allow-headers': typeof wanted === 'string' && wanted.length > 0 ? wanted : DEFAULT_ALLOWED_HEADERS,
      'access-control-max-age': '600',
    });
    res.end();
    return true;
  };
}
