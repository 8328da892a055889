/**
 * Config sections for metrics, tracing and the admin UI (issue 5): `metrics`,
 * `tracing`, `ui`. Owned by the observability work; schema.ts only mounts them.
 */
import { z } from 'zod';

export const metricsSchema = z.strictObject({});

export const tracingSchema = z.strictObject({});

export const uiSchema = z.strictObject({});

export const observabilityKnownKeys: Readonly<Record<string, readonly string[]>> = {
  metrics: Object.keys(metricsSchema.shape),
  tracing: Object.keys(tracingSchema.shape),
  ui: Object.keys(uiSchema.shape),
};
