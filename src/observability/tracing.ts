/**
 * OpenTelemetry traces (issue 5): one SERVER span per chat request, with
 * child spans for routing and for each upstream attempt, exported over
 * OTLP/HTTP in batches. A client's W3C `traceparent` is the parent; the
 * upstream requests carry the gateway's span as theirs.
 *
 * Off (the extension is not even built) unless an exporter is configured:
 * `tracing.otlpEndpoint`, or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT /
 * OTEL_EXPORTER_OTLP_ENDPOINT. OTEL_SDK_DISABLED=true or
 * OTEL_TRACES_EXPORTER=none turn it off. The tracer provider is this
 * gateway's own, never the global one, so gateways in one process stay apart.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, createTraceState, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { Config } from '../config/index.ts';
import type { ChatCall } from '../pipeline/chat.ts';
import type { GatewayExtension, RequestEnd } from '../pipeline/hooks.ts';
import type { ExtensionContext } from '../server/gateway.ts';
import { moduleLogger } from './logger.ts';
import { formatTraceparent, parseTraceparent, tracestateOf } from './trace-context.ts';

type Env = Readonly<Record<string, string | undefined>>;


/** Where spans go: the configured endpoint, else the standard variables; undefined means tracing is off. */
export function tracesEndpoint(settings: Config['tracing'], env: Env = process.env): string | undefined {
  if (!settings.enabled || env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none') return undefined;
  if (settings.otlpEndpoint !== undefined) return tracesUrl(settings.otlpEndpoint);
  const specific = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (specific) return specific;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  return base ? tracesUrl(base) : undefined;
}

/** A base URL gets `/v1/traces` appended (as OTEL_EXPORTER_OTLP_ENDPOINT does); a full traces URL is kept. */
function tracesUrl(endpoint: string): string {
  if (/\/v1\/traces\/?$/.test(endpoint)) return endpoint;
  return `${endpoint.replace(/\/+$/, '')}/v1/traces`;
}

/** `performance.now()` milliseconds as epoch milliseconds, the time OpenTelemetry takes. */
function epochMs(perfMs: number): number {
  return performance.timeOrigin + perfMs;
}

interface RequestTrace {
  readonly span: Span;
  readonly context: Context;
  readonly routedAt: number | undefined;
}

export async function tracingExtension(context: ExtensionContext): Promise<GatewayExtension | undefined> {
  const settings = context.config.tracing;
  const url = tracesEndpoint(settings);
  if (url === undefined) return undefined;
  const logger = moduleLogger(context.logger, 'tracing');
  // The SDK and the exporter load only when tracing is on: a gateway without it never pays their start-up.
  const { createTracerProvider } = await import('./otlp.ts');
  const provider = createTracerProvider({ url, headers: settings.headers, serviceName: process.env.OTEL_SERVICE_NAME || settings.serviceName, sampleRatio: settings.sampleRatio, logger });
  const tracer = provider.getTracer('switchyard');
  const open = new WeakMap<ChatCall, RequestTrace>();
  logger.info({ endpoint: url, sampleRatio: settings.sampleRatio }, 'tracing: spans are exported over OTLP/HTTP');

  const start = (call: ChatCall, routedAt: number | undefined): RequestTrace => {
    const span = tracer.startSpan(
      call.surface === 'anthropic' ? 'POST /v1/messages' : 'POST /v1/chat/completions',
      {
        kind: SpanKind.SERVER,
        startTime: epochMs(call.startedAt),
        attributes: { 'http.request.method': 'POST', 'switchyard.request_id': call.requestId, 'switchyard.surface': call.surface },
      },
      parentContext(call),
    );
    const started: RequestTrace = { span, context: trace.setSpan(ROOT_CONTEXT, span), routedAt };
    open.set(call, started);
    return started;
  };

  return {
    name: 'tracing',
    hooks: {
      routed(call) {
        const { span } = start(call, performance.now());
        // Upstream requests carry this span as their parent.
        const sc = span.spanContext();
        const traceparent = formatTraceparent({ traceId: sc.traceId, spanId: sc.spanId, flags: sc.traceFlags });
        const tracestate = tracestateOf(call.headers);
        call.trace = tracestate === undefined ? { traceparent } : { traceparent, tracestate };
      },
      finished(call, end) {
        const found = open.get(call) ?? start(call, undefined);
        open.delete(call);
        finish(tracer, call, end, found);
      },
    },
    async close() {
      await provider.shutdown();
    },
  };
}

function parentContext(call: ChatCall): Context {
  const parent = parseTraceparent(call.headers.traceparent);
  if (parent === undefined) return ROOT_CONTEXT;
  const tracestate = tracestateOf(call.headers);
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: parent.traceId,
    spanId: parent.spanId,
    traceFlags: parent.flags,
    isRemote: true,
    ...(tracestate === undefined ? {} : { traceState: createTraceState(tracestate) }),
  });
}

function finish(tracer: Tracer, call: ChatCall, end: RequestEnd, { span, context, routedAt }: RequestTrace): void {
  const summary = call.summary;
  const endTime = epochMs(call.startedAt + end.latencyMs);
  if (span.isRecording()) {
    if (routedAt !== undefined) {
      tracer
        .startSpan('switchyard.route', { startTime: epochMs(call.startedAt), attributes: routeAttributes(call) }, context)
        .end(epochMs(routedAt));
    }
    // Attempt times are ms after the request arrived (src/pipeline/attempt.ts); one still open at the end closes with the request.
    call.summary.attempts.forEach((attempt, i) => {
      const startMs = call.startedAt + attempt.startMs;
      const attrs: Attributes = {
        'switchyard.deployment': attempt.deployment,
        'switchyard.attempt': i + 1,
        'switchyard.hedge': attempt.hedge === true,
      };
      if (attempt.status !== undefined) attrs['http.response.status_code'] = attempt.status;
      if (attempt.error !== undefined) attrs['error.type'] = attempt.error;
      const child = tracer.startSpan(`upstream ${attempt.deployment}`, { kind: SpanKind.CLIENT, startTime: epochMs(startMs), attributes: attrs }, context);
      // A lost hedge race or a client gone is not the deployment's failure.
      if (attempt.error !== undefined && attempt.error.startsWith('SWY_ERR_')) child.setStatus({ code: SpanStatusCode.ERROR, message: attempt.error });
      child.end(attempt.durationMs === undefined ? endTime : epochMs(startMs + attempt.durationMs));
    });
    span.setAttributes(requestAttributes(call, end));
    if (summary.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: summary.error });
    else if (end.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end(endTime);
}

function routeAttributes(call: ChatCall): Attributes {
  const attrs: Attributes = {};
  const requested = call.body.model;
  if (typeof requested === 'string') attrs['gen_ai.request.model'] = requested;
  if (call.summary.rule !== undefined) attrs['switchyard.rule'] = call.summary.rule;
  if (call.summary.model !== undefined) attrs['switchyard.model'] = call.summary.model;
  return attrs;
}

function requestAttributes(call: ChatCall, end: RequestEnd): Attributes {
  const summary = call.summary;
  const attrs: Attributes = { ...routeAttributes(call), 'http.response.status_code': end.status };
  if (summary.deployment !== undefined) attrs['switchyard.deployment'] = summary.deployment;
  if (summary.stream !== undefined) attrs['switchyard.stream'] = summary.stream;
  if (summary.ttftMs !== undefined) attrs['switchyard.ttft_ms'] = Math.round(summary.ttftMs * 100) / 100;
  if (summary.usage !== undefined) {
    attrs['gen_ai.usage.input_tokens'] = summary.usage.inputTokens;
    attrs['gen_ai.usage.output_tokens'] = summary.usage.outputTokens;
  }
  if (summary.error !== undefined) attrs['error.type'] = summary.error;
  if (end.clientAborted) attrs['switchyard.client_aborted'] = true;
  if (call.principal?.tenantName !== undefined) attrs['switchyard.tenant'] = call.principal.tenantName;
  return attrs;
}
