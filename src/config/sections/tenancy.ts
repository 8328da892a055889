/**
 * Config sections for storage, identity and the admin API (issue 4):
 * `store`, `redis`, `auth`, `admin`. Owned by the tenancy work; schema.ts only mounts them.
 */
import { z } from 'zod';
import { bool, int } from '../coerce.ts';

export const storeSchema = z.strictObject({
  /** `sqlite:./data/switchyard.db` or a `postgres://` URL; defaults to DATABASE_URL, then the embedded SQLite file. */
  url: z.string().min(1).optional(),
});

export const redisSchema = z.strictObject({
  /** `redis://…`; defaults to REDIS_URL. Absent means limits and caches stay in this process. */
  url: z.string().min(1).optional(),
});

/** JWTs as client credentials: verified against a JWKS URL or a shared secret (`jose`). */
export const jwtSchema = z
  .strictObject({
    /** Where the signing keys are published (RS256/ES256/EdDSA…); fetched and cached by `jose`. */
    jwksUrl: z.url().optional(),
    /** A shared HMAC secret (HS256/384/512), at least 32 characters. */
    secret: z.string().min(32).optional(),
    /** Required `iss`. */
    issuer: z.string().min(1),
    /** Required `aud` (one of). */
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    /** The claim naming the tenant (its name or id in the store). */
    tenantClaim: z.string().min(1).default('tenant'),
    /** Optional claim listing the models the token may use (array or space-separated string). */
    modelsClaim: z.string().min(1).optional(),
    /** Optional claim listing the route rules the token may use. */
    routesClaim: z.string().min(1).optional(),
    /** Clock skew allowed on exp/nbf, in seconds. */
    clockToleranceSec: int(0, 300).default(30),
  })
  .refine((jwt) => (jwt.jwksUrl === undefined) !== (jwt.secret === undefined), { message: 'set exactly one of jwksUrl or secret' });

/**
 * Client authentication. `mode`:
 *  - `auto` (default): on loopback, open until the store holds a key (any,
 *    even revoked) or a JWT source is configured; on any other address, always required.
 *  - `required`: every chat request must carry a valid key or JWT.
 *  - `open`: no client authentication (non-loopback only with `allowOpen: true`).
 */
export const authSchema = z.strictObject({
  mode: z.enum(['auto', 'required', 'open']).default('auto'),
  /** Lets the gateway run open on a non-loopback address (`start --allow-open` too): in `auto` mode until a key exists, in `open` mode always. */
  allowOpen: bool().default(false),
  /** How long a key lookup is cached; revocations also clear the cache at once (and across instances over Redis). */
  cacheTtlMs: int(0, 300_000).default(30_000),
  jwt: jwtSchema.optional(),
});

export const adminSchema = z.strictObject({
  /** Keys that open the admin API and UI (sent as `x-api-key` or `Authorization: Bearer`). */
  apiKeys: z.array(z.string().min(1)).default([]),
});

export const tenancyKnownKeys: Readonly<Record<string, readonly string[]>> = {
  store: Object.keys(storeSchema.shape),
  redis: Object.keys(redisSchema.shape),
  auth: Object.keys(authSchema.shape),
  'auth.jwt': ['jwksUrl', 'secret', 'issuer', 'audience', 'tenantClaim', 'modelsClaim', 'routesClaim', 'clockToleranceSec'],
  admin: Object.keys(adminSchema.shape),
};
