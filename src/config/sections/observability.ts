/**
 * Config sections for metrics, tracing and the admin UI (issue 5): `metrics`,
 * `tracing`, `ui`. Owned by the observability work; schema.ts only mounts them.
 */
import { z } from 'zod';
import { bool as flag, int, num } from '../coerce.ts';


export const metricsSchema = z.strictObject({
  /** Serve Prometheus metrics. On by default: recording costs little and an operator expects them. */
  enabled: flag().default(true),
  /** Where the Prometheus text is served. */
  path: z
    .string()
    .regex(/^\/[\w\-./]*$/, 'must be an absolute path such as /metrics')
    .refine((p) => !p.startsWith('/v1/'), 'must not be under /v1/ (the client APIs)')
    .default('/metrics'),
  /** Ask for an admin key (admin.apiKeys) on the metrics path; off by default, as scrapers usually sit on a private network. */
  requireAdmin: flag().default(false),
  /** Most label sets kept per metric; further ones are counted under the value `_other` (bounds memory). */
  maxSeries: int(10, 100_000).default(2000),
});

export const tracingSchema = z.strictObject({
  /**
   * The OTLP/HTTP collector, e.g. `http://127.0.0.1:4318` (spans go to `/v1/traces` under it) or
   * the full traces URL. Absent: the standard OTEL_EXPORTER_OTLP_TRACES_ENDPOINT /
   * OTEL_EXPORTER_OTLP_ENDPOINT variables decide; with neither, tracing is off and costs nothing.
   */
  otlpEndpoint: z.url({ protocol: /^https?$/ }).optional(),
  /** Extra headers for the collector (an auth token); OTEL_EXPORTER_OTLP_HEADERS also applies. */
  headers: z.record(z.string(), z.string()).default({}),
  /** `service.name` of the spans; OTEL_SERVICE_NAME wins when set. */
  serviceName: z.string().min(1).default('switchyard'),
  /** Share of new traces recorded (0–1); a client's sampled flag in `traceparent` is followed as is. */
  sampleRatio: num(0, 1).default(1),
  /** Turns tracing off even when an endpoint is configured (OTEL_SDK_DISABLED=true does too). */
  enabled: flag().default(true),
});

export const uiSchema = z.strictObject({
  /** Serve the admin dashboard at `/ui` (its data needs an admin key, `admin.apiKeys`). */
  enabled: flag().default(true),
});

export const observabilityKnownKeys: Readonly<Record<string, readonly string[]>> = {
  metrics: Object.keys(metricsSchema.shape),
  tracing: Object.keys(tracingSchema.shape),
  ui: Object.keys(uiSchema.shape),
};
