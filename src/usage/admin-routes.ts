/**
 * `GET /admin/v1/usage`: usage totals and a breakdown, for admins. The
 * authentication extension's guard admits every `/admin/*` request and
 * resolves its scope (src/tenancy/admin-scope.ts): a global admin sees every
 * tenant, a tenant's admin only its own. The querystring and response schemas
 * validate and serialize the route and describe it in /openapi.json.
 */
import type { FastifyInstance } from 'fastify';
import { GatewayError } from '../errors.ts';
import type { Db } from '../store/db.ts';
import { adminScope, assertTenantVisible } from '../tenancy/admin-scope.ts';
import { parseTimeBound, resolveTenantId, usageGroupings, type UsageGrouping, type UsageQueries } from './queries.ts';

export interface UsageRouteOptions {
  readonly db: Db;
  readonly queries: UsageQueries;
}

const totalsProperties = {
  requests: { type: 'integer' },
  errors: { type: 'integer', description: 'Requests answered with a status of 400 or more, refused ones included.' },
  inputTokens: { type: 'integer' },
  outputTokens: { type: 'integer' },
  cacheReadTokens: { type: 'integer' },
  cacheWriteTokens: { type: 'integer' },
  costUsd: { type: 'number' },
} as const;

const totalsSchema = { type: 'object', properties: totalsProperties, required: Object.keys(totalsProperties) } as const;

export const usageQuerystringSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    tenant: { type: 'string', minLength: 1, description: 'Tenant name or id.' },
    key: { type: 'string', minLength: 1, description: 'Key id.' },
    by: { type: 'string', enum: [...usageGroupings], description: 'Breakdown: day or hour (UTC buckets), or per tenant, key, model or deployment.' },
    from: { type: 'string', description: 'Start, inclusive: ISO 8601 date or time, or epoch ms. Default: 30 days before `to`.' },
    to: { type: 'string', description: 'End, exclusive: ISO 8601 time or epoch ms; a bare date includes that whole day. Default: now.' },
  },
} as const;

export const usageResponseSchema = {
  type: 'object',
  properties: {
    from: { type: 'string', format: 'date-time' },
    to: { type: 'string', format: 'date-time' },
    by: { type: ['string', 'null'] },
    tenantId: { type: ['string', 'null'] },
    keyId: { type: ['string', 'null'] },
    totals: totalsSchema,
    rows: {
      type: 'array',
      items: {
        type: 'object',
        properties: { group: { type: ['string', 'null'] }, name: { type: ['string', 'null'] }, ...totalsProperties },
      },
    },
  },
} as const;

/** `tags` and `summary` are for the OpenAPI document (Fastify ignores them). */
const usageRouteSchema = {
  tags: ['usage'],
  summary: 'Usage and cost: totals and a breakdown by time, tenant, key, model or deployment',
  querystring: usageQuerystringSchema,
  response: { 200: usageResponseSchema },
};

interface UsageQuerystring {
  tenant?: string;
  key?: string;
  by?: UsageGrouping;
  from?: string;
  to?: string;
}

function bound(value: string | undefined, end: boolean, name: string): number | undefined {
  try {
    return parseTimeBound(value, end);
  } catch (err) {
    throw new GatewayError('SWY_ERR_INVALID_REQUEST', `${name}: ${(err as Error).message}`);
  }
}

export function registerUsageRoutes(app: FastifyInstance, options: UsageRouteOptions): void {
  app.get<{ Querystring: UsageQuerystring }>(
    '/admin/v1/usage',
    { schema: usageRouteSchema },
    async (request) => {
      // Throws 401 when the admin guard did not run: closed, never open, by default.
      const scope = adminScope(request);
      const q = request.query;
      const from = bound(q.from, false, 'from');
      const to = bound(q.to, true, 'to');
      if (from !== undefined && to !== undefined && from >= to) throw new GatewayError('SWY_ERR_INVALID_REQUEST', '`from` must be before `to`.');
      let tenantId = q.tenant === undefined ? undefined : await resolveTenantId(options.db, q.tenant);
      if (scope.tenantId !== undefined) {
        // A tenant's admin sees only its own tenant: another one is "not found", whether it exists or not.
        if (tenantId !== undefined) assertTenantVisible(scope, tenantId, `tenant '${q.tenant}'`);
        tenantId = scope.tenantId;
      }
      return options.queries.report({ tenantId, keyId: q.key, by: q.by, from, to });
    },
  );
}
