/**
 * The admin API, version 1: tenants, keys, deployment health and config
 * reload under `/admin/v1/`. Answers are JSON; errors use the OpenAI error
 * shape with a request id, like every non-Anthropic surface. A key's secret
 * appears in exactly two answers: creation and rotation.
 */
import type { FastifyInstance, FastifyRequest, FastifySchema } from 'fastify';
import type { z } from 'zod';
import { GatewayError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { GatewayState } from '../pipeline/state.ts';
import { adminScope, assertTenantVisible, requireGlobalAdmin } from './admin-scope.ts';
import { createKeyBody, createTenantBody, idParams, jsonSchema, keysQuery, tenantParams, updateKeyBody, updateTenantBody, zodValidator } from './admin-schemas.ts';
import { TenancyError, type ApiKey, type IssuedKey, type TenancyRepository, type Tenant } from './repository.ts';
import type { Invalidation } from './invalidation.ts';

export interface AdminApiDeps {
  readonly repo: TenancyRepository;
  readonly state: () => GatewayState;
  /** Clears caches here and tells the other instances. */
  readonly changed: (change: Invalidation) => Promise<void>;
  readonly reload?: () => Promise<GatewayState>;
  /** For one audit line per change (who, what; never a secret). */
  readonly logger: Logger;
}

/** Parses an ISO date or date-time into epoch ms; a date alone means the end of no day but its start (UTC). */
export function parseExpiry(text: string): number {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new TenancyError('invalid', `'${text}' is not a date (use ISO 8601, e.g. 2027-01-31 or 2027-01-31T12:00:00Z).`);
  if (ms <= Date.now()) throw new TenancyError('invalid', `The expiry '${text}' is in the past.`);
  return ms;
}

export function tenantView(tenant: Tenant): Record<string, unknown> {
  return { id: tenant.id, name: tenant.name, createdAt: new Date(tenant.createdAt).toISOString(), disabled: tenant.disabled, limits: tenant.limits };
}

export function keyView(key: ApiKey, now = Date.now()): Record<string, unknown> {
  const status = key.revokedAt !== undefined ? 'revoked' : key.expiresAt !== undefined && key.expiresAt <= now ? 'expired' : 'active';
  return {
    id: key.id,
    tenantId: key.tenantId,
    name: key.name ?? null,
    prefix: `${key.prefix}…`,
    status,
    admin: key.admin,
    models: key.models ?? null,
    routes: key.routes ?? null,
    limits: key.limits,
    createdAt: iso(key.createdAt),
    expiresAt: iso(key.expiresAt),
    revokedAt: iso(key.revokedAt),
    rotatedAt: iso(key.rotatedAt),
  };
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

function issuedView(issued: IssuedKey): Record<string, unknown> {
  return { key: issued.secret, record: keyView(issued.record), note: 'Store this key now: it is not shown again.' };
}

/** Maps repository errors to the admin API's statuses. */
async function tenancy<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!(err instanceof TenancyError)) throw err;
    const code = err.reason === 'not_found' ? 'SWY_ERR_NOT_FOUND' : err.reason === 'conflict' ? 'SWY_ERR_CONFLICT' : 'SWY_ERR_INVALID_REQUEST';
    throw new GatewayError(code, err.message);
  }
}

function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw new GatewayError('SWY_ERR_INVALID_REQUEST', `Invalid request: ${result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`);
  return result.data;
}

/** A route schema with its OpenAPI summary and tag (Fastify keeps extra keys; /openapi.json reads them). */
export function doc(summary: string, tag: 'tenants' | 'keys' | 'ops', parts: FastifySchema = {}): FastifySchema {
  return { ...parts, summary, tags: [tag === 'ops' ? 'operations' : tag] } as FastifySchema;
}

export function registerAdminApi(root: FastifyInstance, deps: AdminApiDeps): void {
  // Its own context, so zod (strict) validates these routes instead of Fastify's default ajv.
  void root.register(async (app) => {
    app.setValidatorCompiler(zodValidator);
    const { repo } = deps;
    const audit = (request: FastifyRequest, what: string, fields: Record<string, unknown>): void => {
      deps.logger.info({ requestId: request.id, admin: adminScope(request).actor, ...fields }, `admin: ${what}`);
    };

    /** The tenant a request names, if this admin may see it (404 otherwise, whether it exists or not). */
    async function visibleTenant(request: FastifyRequest, idOrName: string): Promise<Tenant> {
      const scope = adminScope(request);
      const tenant = await repo.findTenant(idOrName);
      if (tenant === undefined) throw new GatewayError('SWY_ERR_NOT_FOUND', `No tenant '${idOrName}'.`);
      assertTenantVisible(scope, tenant.id, `tenant '${idOrName}'`);
      return tenant;
    }

    async function visibleKey(request: FastifyRequest, id: string): Promise<ApiKey> {
      const scope = adminScope(request);
      const key = await repo.findKey(id);
      if (key === undefined) throw new GatewayError('SWY_ERR_NOT_FOUND', `No key '${id}'.`);
      assertTenantVisible(scope, key.tenantId, `key '${id}'`);
      return key;
    }

    app.get('/admin/v1/tenants', { schema: doc('List tenants (a tenant admin sees its own)', 'tenants') }, async (request) => {
      const scope = adminScope(request);
      const tenants = await repo.listTenants();
      return { tenants: tenants.filter((t) => scope.tenantId === undefined || t.id === scope.tenantId).map(tenantView) };
  });

  app.post(
    '/admin/v1/tenants',
    { schema: doc('Create a tenant (global admin)', 'tenants', { body: jsonSchema(createTenantBody) }) },
    async (request, reply) => {
      requireGlobalAdmin(adminScope(request));
      const body = parse(createTenantBody, request.body);
      const tenant = await tenancy(() => repo.createTenant(body.name, body.limits));
      audit(request, 'tenant created', { tenantId: tenant.id, tenant: tenant.name });
      reply.code(201);
      return { tenant: tenantView(tenant) };
    },
  );

  app.get(
    '/admin/v1/tenants/:tenant',
    { schema: doc('One tenant', 'tenants', { params: jsonSchema(tenantParams) }) },
    async (request) => ({ tenant: tenantView(await visibleTenant(request, parse(tenantParams, request.params).tenant)) }),
  );

  app.patch(
    '/admin/v1/tenants/:tenant',
    { schema: doc("Change a tenant's limits or disable it (global admin)", 'tenants', { params: jsonSchema(tenantParams), body: jsonSchema(updateTenantBody) }) },
    async (request) => {
      requireGlobalAdmin(adminScope(request));
      const tenant = await visibleTenant(request, parse(tenantParams, request.params).tenant);
      const body = parse(updateTenantBody, request.body);
      const updated = await tenancy(() => repo.updateTenant(tenant.id, body));
      await deps.changed({ tenantId: tenant.id });
      audit(request, 'tenant updated', { tenantId: tenant.id, limits: body.limits, disabled: body.disabled });
      return { tenant: tenantView(updated) };
    },
  );

  app.patch(
    '/admin/v1/keys/:id',
    { schema: doc("Change a key's limits or scopes; its secret stays", 'keys', { params: jsonSchema(idParams), body: jsonSchema(updateKeyBody) }) },
    async (request) => {
      const key = await visibleKey(request, parse(idParams, request.params).id);
      const body = parse(updateKeyBody, request.body);
      const updated = await tenancy(() => repo.updateKey(key.id, body));
      await deps.changed({ keyId: key.id });
      audit(request, 'key updated', { tenantId: key.tenantId, keyId: key.id });
      return { key: keyView(updated) };
    },
  );

  app.get('/admin/v1/keys', { schema: doc("List keys (a tenant admin sees its tenant's)", 'keys', { querystring: jsonSchema(keysQuery) }) }, async (request) => {
    const scope = adminScope(request);
    const query = parse(keysQuery, request.query);
    const tenantId = query.tenant !== undefined ? (await visibleTenant(request, query.tenant)).id : scope.tenantId;
    return { keys: (await repo.listKeys(tenantId)).map((k) => keyView(k)) };
  });

  app.post(
    '/admin/v1/keys',
    { schema: doc('Create a key; the answer holds the key, shown once', 'keys', { body: jsonSchema(createKeyBody) }) },
    async (request, reply) => {
      const body = parse(createKeyBody, request.body);
      const tenant = await visibleTenant(request, body.tenant);
      const issued = await tenancy(async () =>
        repo.createKey({
          tenantId: tenant.id,
          ...(body.name === undefined ? {} : { name: body.name }),
          ...(body.models === undefined ? {} : { models: body.models }),
          ...(body.routes === undefined ? {} : { routes: body.routes }),
          ...(body.admin === undefined ? {} : { admin: body.admin }),
          ...(body.expiresAt === undefined ? {} : { expiresAt: parseExpiry(body.expiresAt) }),
          ...(body.limits === undefined ? {} : { limits: body.limits }),
        }),
      );
      // Instances in `auto` mode learn that a key now exists (and forget it was unknown).
      await deps.changed({ tenantId: tenant.id });
      audit(request, 'key created', { tenantId: tenant.id, keyId: issued.record.id, prefix: issued.record.prefix });
      reply.code(201);
      return issuedView(issued);
    },
  );

  app.get('/admin/v1/keys/:id', { schema: doc('One key', 'keys', { params: jsonSchema(idParams) }) }, async (request) => ({
    key: keyView(await visibleKey(request, parse(idParams, request.params).id)),
  }));

  app.post('/admin/v1/keys/:id/revoke', { schema: doc('Revoke a key, at once on every instance', 'keys', { params: jsonSchema(idParams) }) }, async (request) => {
    const key = await visibleKey(request, parse(idParams, request.params).id);
    const revoked = await tenancy(() => repo.revokeKey(key.id));
    await deps.changed({ keyId: key.id });
    audit(request, 'key revoked', { tenantId: key.tenantId, keyId: key.id });
    return { key: keyView(revoked) };
  });

  app.post(
    '/admin/v1/keys/:id/rotate',
    { schema: doc('Give a key a new secret (shown once); the old one stops working', 'keys', { params: jsonSchema(idParams) }) },
    async (request) => {
      const key = await visibleKey(request, parse(idParams, request.params).id);
      const issued = await tenancy(() => repo.rotateKey(key.id));
      await deps.changed({ keyId: key.id });
      audit(request, 'key rotated', { tenantId: key.tenantId, keyId: key.id, prefix: issued.record.prefix });
      return issuedView(issued);
    },
  );

  app.get('/admin/v1/health', { schema: doc('Deployment health: breaker state, in flight, latency (global admin)', 'ops') }, async (request) => {
    requireGlobalAdmin(adminScope(request));
    const state = deps.state();
    const deployments = [...state.resilience.registry.entries()].map(([id, health]) => ({
      id,
      available: health.available(),
      maxConcurrent: health.maxConcurrent || null,
      ...health.snapshot(),
    }));
    return { configVersion: state.version, deployments };
  });

  app.post('/admin/v1/config/reload', { schema: doc('Re-read the configuration file and apply it (global admin)', 'ops') }, async (request) => {
    requireGlobalAdmin(adminScope(request));
    if (deps.reload === undefined) throw new GatewayError('SWY_ERR_CONFLICT', 'This gateway was not started from a configuration file: there is nothing to reload.');
    let state: GatewayState;
    try {
      state = await deps.reload();
    } catch (err) {
      const problems = (err as { problems?: Array<{ path: string; message: string }> }).problems;
      const detail = problems === undefined ? 'the new configuration could not be applied' : problems.map((p) => `${p.path}: ${p.message}`).join('; ');
      throw new GatewayError('SWY_ERR_INVALID_REQUEST', `Reload refused, the previous configuration keeps serving: ${detail}`);
    }
    return { configVersion: state.version };
  });
  });
}
