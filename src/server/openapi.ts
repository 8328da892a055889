/**
 * /openapi.json, built from the Fastify route schemas themselves (the JSON
 * Schemas Fastify validates requests with), collected by an `onRoute` hook: a
 * route added later by any extension, with a `schema`, appears with no other step.
 */
import type { FastifyInstance, RouteOptions } from 'fastify';

interface Operation {
  summary?: string;
  tags?: string[];
  parameters: Array<Record<string, unknown>>;
  requestBody?: Record<string, unknown>;
  responses: Record<string, unknown>;
  security: Array<Record<string, string[]>>;
}

const errorResponse = { description: 'An error, OpenAI error shape: { error: { message, type, code } }; x-request-id header.' };

function parametersOf(schema: Record<string, unknown> | undefined, where: 'path' | 'query'): Array<Record<string, unknown>> {
  const properties = (schema?.properties ?? {}) as Record<string, Record<string, unknown>>;
  const required = new Set((schema?.required ?? []) as string[]);
  return Object.entries(properties).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    ...(typeof s.description === 'string' ? { description: s.description } : {}),
    schema: s,
  }));
}

/** Collects routes under `prefix` registered from now on; call before adding them. */
export function collectOpenApi(app: FastifyInstance, info: { title: string; version: string }, prefix = '/admin/'): () => Record<string, unknown> {
  const paths: Record<string, Record<string, Operation>> = {};
  app.addHook('onRoute', (route: RouteOptions) => {
    if (!route.url.startsWith(prefix) || route.schema === undefined) return;
    const schema = route.schema as Record<string, unknown>;
    const path = route.url.replace(/:(\w+)/g, '{$1}');
    const operation: Operation = {
      parameters: [
        ...parametersOf(schema.params as Record<string, unknown> | undefined, 'path'),
        ...parametersOf(schema.querystring as Record<string, unknown> | undefined, 'query'),
      ],
      responses: { '200': { description: 'OK' }, '4XX': errorResponse },
      security: [{ adminKey: [] }, { bearer: [] }],
    };
    if (typeof schema.summary === 'string') operation.summary = schema.summary;
    if (Array.isArray(schema.tags)) operation.tags = schema.tags as string[];
    if (schema.body !== undefined) operation.requestBody = { required: true, content: { 'application/json': { schema: schema.body } } };
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue;
      (paths[path] ??= {})[method.toLowerCase()] = operation;
    }
  });
  return () => ({
    openapi: '3.1.0',
    info,
    paths,
    components: {
      securitySchemes: {
        adminKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
        bearer: { type: 'http', scheme: 'bearer' },
      },
    },
  });
}
