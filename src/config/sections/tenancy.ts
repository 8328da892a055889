/**
 * Config sections for storage, identity and the admin API (issue 4):
 * `store`, `redis`, `auth`, `admin`. Owned by the tenancy work; schema.ts only mounts them.
 */
import { z } from 'zod';

export const storeSchema = z.strictObject({
  /** `sqlite:./data/switchyard.db` or a `postgres://` URL; defaults to DATABASE_URL, then the embedded SQLite file. */
  url: z.string().min(1).optional(),
});

export const redisSchema = z.strictObject({
  /** `redis://…`; defaults to REDIS_URL. Absent means limits and caches stay in this process. */
  url: z.string().min(1).optional(),
});

export const authSchema = z.strictObject({});

export const adminSchema = z.strictObject({
  /** Keys that open the admin API and UI (sent as `x-api-key` or `Authorization: Bearer`). */
  apiKeys: z.array(z.string().min(1)).default([]),
});

export const tenancyKnownKeys: Readonly<Record<string, readonly string[]>> = {
  store: Object.keys(storeSchema.shape),
  redis: Object.keys(redisSchema.shape),
  auth: Object.keys(authSchema.shape),
  admin: Object.keys(adminSchema.shape),
};
