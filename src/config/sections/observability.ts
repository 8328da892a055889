/**
 * Config sections for metrics, tracing and the admin UI (issue 5): `metrics`,
 * `tracing`, `ui`. Owned by the observability work; schema.ts only mounts them.
 */
import { z } from 'zod';

export const metricsSchema = z.strictObject({});

export const tracingSchema = z.strictObject({});

/** `true`/`false` also when written through an environment variable. */
const flag = () => z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());

export const uiSchema = z.strictObject({
  /** Serve the admin dashboard at `/ui` (its data needs an admin key, `admin.apiKeys`). */
  enabled: flag().default(true),
});

export const observabilityKnownKeys: Readonly<Record<string, readonly string[]>> = {
  metrics: Object.keys(metricsSchema.shape),
  tracing: Object.keys(tracingSchema.shape),
  ui: Object.keys(uiSchema.shape),
};
