/**
 * The OpenTelemetry SDK side of tracing (./tracing.ts): a tracer provider of
 * this gateway's own (never the global one) exporting over OTLP/HTTP in
 * batches. Imported only when tracing is configured.
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { Logger } from './logger.ts';

export interface TracerProviderOptions {
  /** The OTLP/HTTP traces URL (…/v1/traces). */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly serviceName: string;
  /** Share of new (parentless) traces recorded; a parent's sampled flag is followed. */
  readonly sampleRatio: number;
  readonly logger: Logger;
}

/** Logs export failures, at most once a minute: a down collector must not flood the logs. */
class ReportingExporter implements SpanExporter {
  readonly #inner: SpanExporter;
  readonly #logger: Logger;
  #lastReport = -Infinity;
  constructor(inner: SpanExporter, logger: Logger) {
    this.#inner = inner;
    this.#logger = logger;
  }
  export(spans: ReadableSpan[], done: Parameters<SpanExporter['export']>[1]): void {
    this.#inner.export(spans, (result) => {
      if (result.code !== 0 && performance.now() - this.#lastReport > 60_000) {
        this.#lastReport = performance.now();
        this.#logger.warn({ err: result.error, spans: spans.length }, 'could not export trace spans to the OTLP collector');
      }
      done(result);
    });
  }
  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.#inner.forceFlush?.() ?? Promise.resolve();
  }
}

export function createTracerProvider(options: TracerProviderOptions): BasicTracerProvider {
  const exporter = new OTLPTraceExporter({ url: options.url, headers: { ...options.headers }, timeoutMillis: 5000 });
  return new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio) }),
    spanProcessors: [new BatchSpanProcessor(new ReportingExporter(exporter, options.logger), { exportTimeoutMillis: 5000 })],
  });
}
