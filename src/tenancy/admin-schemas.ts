/**
 * The admin API's request schemas: one zod schema per request gives the
 * validation (compiled by Fastify from its JSON Schema), the TypeScript type
 * and the OpenAPI document, so the three cannot drift apart.
 */
import { z } from 'zod';

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
  routes: z.array(z.string().min(1)).optional().describe('Allowed route rules (default, background, think…); absent means all.'),
  admin: z.boolean().optional().describe("A tenant admin key: opens the admin API for its own tenant."),
  expiresAt: z.string().min(1).optional().describe('Expiry as an ISO 8601 date or date-time.'),
  limits: limitsBody.optional(),
});

export const keysQuery = z.strictObject({
  tenant: z.string().min(1).optional().describe('Tenant name or id.'),
});

export const idParams = z.strictObject({ id: z.string().min(1) });
export const tenantParams = z.strictObject({ tenant: z.string().min(1).describe('Tenant name or id.') });

/** A JSON Schema Fastify's validator (draft-07) accepts. */
export function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
  return rest;
}
