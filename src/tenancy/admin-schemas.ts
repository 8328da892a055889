/**
 * The admin API's request schemas: one zod schema per request gives the
 * validation (compiled by Fastify from its JSON Schema), the TypeScript type
 * and the OpenAPI document, so the three cannot drift apart.
 */
import { z } from 'zod';
import { ROUTE_RULES } from '../routing/table.ts';

const positive = z.number().int().positive();
const usd = z.number().positive();

export const limitsBody = z
  .strictObject({
    requestsPerMinute: positive.optional(),
    inputTokensPerMinute: positive.optional(),
    outputTokensPerMinute: positive.optional(),
    concurrency: positive.optional(),
    budgetDayUsd: usd.optional(),
    budgetMonthUsd: usd.optional(),
  })
  .describe('Limits; an absent field means no limit.');

export const createTenantBody = z.strictObject({
  name: z.string().regex(/^[\w.@-]{1,64}$/).describe('Unique tenant name: letters, digits, . _ @ -'),
  limits: limitsBody.optional(),
});

export const createKeyBody = z.strictObject({
  tenant: z.string().min(1).describe('Tenant name or id (a tenant admin key may only name its own tenant).'),
  name: z.string().min(1).max(128).optional().describe('A label for the key.'),
  models: z.array(z.string().min(1)).optional().describe('Allowed public model names; absent means all.'),
  routes: z.array(z.enum(ROUTE_RULES)).optional().describe('Allowed route rules (default, background, think…); absent means all.'),
  admin: z.boolean().optional().describe("A tenant admin key: opens the admin API for its own tenant."),
  expiresAt: z.string().min(1).optional().describe('Expiry as an ISO 8601 date or date-time.'),
  limits: limitsBody.optional(),
});

export const updateTenantBody = z.strictObject({
  limits: limitsBody.optional().describe('Replaces all of the tenant\'s limits (absent fields: no limit).'),
  disabled: z.boolean().optional().describe("A disabled tenant's keys and tokens are refused."),
});

export const updateKeyBody = z.strictObject({
  limits: limitsBody.optional().describe('Replaces all of the key\'s limits (absent fields: no limit).'),
  models: z.array(z.string().min(1)).nullable().optional().describe('Allowed models; null for all.'),
  routes: z.array(z.enum(ROUTE_RULES)).nullable().optional().describe('Allowed route rules; null for all.'),
});

export const keysQuery = z.strictObject({
  tenant: z.string().min(1).optional().describe('Tenant name or id.'),
});

export const idParams = z.strictObject({ id: z.string().min(1) });
export const tenantParams = z.strictObject({ tenant: z.string().min(1).describe('Tenant name or id.') });

const zodOf = new WeakMap<object, z.ZodType>();

/**
 * The JSON Schema of a zod schema, for a Fastify route's `schema` (and so for
 * /openapi.json); `zodValidator` makes Fastify validate that part with the zod
 * schema itself, so what is documented is exactly what is enforced.
 */
export function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
  zodOf.set(rest, schema);
  return rest;
}

/**
 * A Fastify `validatorCompiler` for routes whose schemas came from `jsonSchema`:
 * zod validates (strictly: unknown fields are errors, not silently dropped).
 */
export function zodValidator({ schema }: { schema: unknown }): (data: unknown) => { value?: unknown; error?: Error } {
  const zod = zodOf.get(schema as object);
  if (zod === undefined) throw new Error('admin route schemas must come from jsonSchema()');
  return (data) => {
    const result = zod.safeParse(data ?? {});
    if (result.success) return { value: result.data };
    const detail = result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
    return { error: Object.assign(new Error(detail), { validation: result.error.issues }) };
  };
}
