/**
 * The admin API's gate: every `/admin/*` route, `/ui` and any other operator
 * surface needs an admin key, sent as `x-api-key` or `Authorization: Bearer`.
 * Keys are compared as SHA-256 digests in constant time, so neither the
 * comparison nor its timing says anything about a configured key.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '../errors.ts';
import { looksLikeJwt } from '../tenancy/jwt.ts';
import { writeError } from './error-shapes.ts';

/** The credential a request carries: `x-api-key`, else a bearer token; undefined when neither is there. */
export function presentedCredential(headers: IncomingHttpHeaders): string | undefined {
  const header = headers['x-api-key'];
  const apiKey = typeof header === 'string' && header !== '' ? header : undefined;
  const authorization = headers.authorization;
  const bearer = typeof authorization === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] : undefined;
  // Claude Code sends both when ANTHROPIC_API_KEY (a provider key) and ANTHROPIC_AUTH_TOKEN (the
  // gateway key) are set: a Switchyard key or a JWT in the bearer wins over a foreign x-api-key.
  if (apiKey !== undefined && bearer !== undefined && !apiKey.startsWith('swy_') && (bearer.startsWith('swy_') || looksLikeJwt(bearer))) return bearer;
  return apiKey ?? bearer;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Checks a credential against the configured admin keys; reads the list on every call so a reload takes effect. */
export function makeAdminCheck(adminKeys: () => readonly string[]): (headers: IncomingHttpHeaders) => boolean {
  return (headers) => {
    const presented = presentedCredential(headers);
    if (presented === undefined) return false;
    const wanted = digest(presented);
    let ok = false;
    // Every configured key is compared, so timing does not say which one matched.
    for (const key of adminKeys()) ok = timingSafeEqual(digest(key), wanted) || ok;
    return ok;
  };
}

/**
 * A Fastify `onRequest` hook that answers 401 (OpenAI error shape, which the
 * admin API uses) unless the request carries an admin key. When no admin key
 * is configured the admin surface is closed, and the error says how to open it.
 */
export function requireAdmin(adminKeys: () => readonly string[]) {
  const check = makeAdminCheck(adminKeys);
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (check(request.headers)) return;
    const message =
      adminKeys().length === 0
        ? 'The admin API is closed: no admin key is configured (set admin.apiKeys, or SWITCHYARD_ADMIN_KEY).'
        : 'A valid admin key is required (x-api-key or Authorization: Bearer).';
    reply.hijack();
    writeError(reply.raw, 'openai', new GatewayError('SWY_ERR_UNAUTHORIZED', message, { headers: { 'www-authenticate': 'Bearer' } }), request.id);
  };
}
