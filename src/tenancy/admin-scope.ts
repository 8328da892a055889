/**
 * Who may use the admin API, and over what. Every `/admin/*` request passes
 * this guard (an `onRequest` hook the auth extension installs on the whole app,
 * so routes other extensions add under `/admin/` are covered too):
 *
 *  - a global admin key (`admin.apiKeys`, or SWITCHYARD_ADMIN_KEY) sees everything → `{}`;
 *  - an active tenant key created with the `admin` scope sees only its tenant → `{ tenantId }`;
 *  - anything else gets 401 (no or bad credential) or 403 (a valid key without the admin scope).
 *
 * For the usage ledger's routes (`/admin/v1/usage…`), in a handler:
 *
 *   import { adminScope } from '../tenancy/admin-scope.ts';
 *   const { tenantId } = adminScope(request); // undefined = global admin: any tenant
 *   // a tenant admin: force `tenantId` into the query, and answer 404 for another tenant's data
 *
 * Give such routes a Fastify `schema` (JSON Schema, e.g. `jsonSchema(zodSchema)` from
 * admin-schemas.ts, plus `summary` and `tags`): /openapi.json lists every route with a
 * schema registered after the auth extension's routes, with no other step.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { GatewayError } from '../errors.ts';
import { makeAdminCheck, presentedCredential } from '../server/admin-auth.ts';
import { AuthRefused, type Authenticator } from './authenticator.ts';

export interface AdminScope {
  /** Set for a tenant admin: everything it sees and changes must belong to this tenant. */
  readonly tenantId?: string;
  /** For the log line: `global` or the tenant admin key's id. */
  readonly actor: string;
}

const scopes = new WeakMap<FastifyRequest, AdminScope>();

/** The scope the guard resolved for this request; throws 401 when the guard did not run (fail closed). */
export function adminScope(request: FastifyRequest): AdminScope {
  const scope = scopes.get(request);
  if (scope === undefined) throw new GatewayError('SWY_ERR_UNAUTHORIZED', 'A valid admin key is required (x-api-key or Authorization: Bearer).');
  return scope;
}

/** Throws 404 unless the scope may see `tenantId` (404, not 403: another tenant's existence is not revealed). */
export function assertTenantVisible(scope: AdminScope, tenantId: string, what: string): void {
  if (scope.tenantId !== undefined && scope.tenantId !== tenantId) throw new GatewayError('SWY_ERR_NOT_FOUND', `No ${what}.`);
}

export function requireGlobalAdmin(scope: AdminScope): void {
  if (scope.tenantId !== undefined) throw new GatewayError('SWY_ERR_FORBIDDEN', 'This needs a global admin key; a tenant admin key only manages its own tenant.');
}

/** Resolves and records the admin scope of a request, or throws a 401/403 GatewayError. */
export function makeAdminGuard(adminKeys: () => readonly string[], authenticator: Authenticator) {
  const isGlobalAdmin = makeAdminCheck(adminKeys);
  return async (request: FastifyRequest): Promise<AdminScope> => {
    const scope = await resolve(request.headers);
    scopes.set(request, scope);
    return scope;
  };

  async function resolve(headers: IncomingHttpHeaders): Promise<AdminScope> {
    const credential = presentedCredential(headers);
    if (credential === undefined) {
      throw new AuthRefused('no admin credential', 'The admin API needs an admin key (x-api-key or Authorization: Bearer).');
    }
    if (isGlobalAdmin(headers)) return { actor: 'global' };
    const { principal, admin } = await authenticator.authenticate(credential);
    if (!admin || principal.keyId === undefined) throw new GatewayError('SWY_ERR_FORBIDDEN', 'This key has no admin scope.');
    return { tenantId: principal.tenantId, actor: principal.keyId };
  }
}
