/**
 * Starts a real mock provider and a real gateway on port 0 for end-to-end
 * tests, with cleanup registered on the test context.
 */
import type { TestContext } from 'node:test';
import { Writable } from 'node:stream';
import { parseConfig } from '../../src/config/index.ts';
import { startMockProvider, type MockOptions, type MockProvider } from '../../src/mock/server.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { startGateway, type ExtensionFactory, type Gateway } from '../../src/server/gateway.ts';

export interface Stack {
  mock: MockProvider;
  gateway: Gateway;
  /** Log lines the gateway wrote, parsed. */
  logs: Array<Record<string, unknown>>;
}

/**
 * The default config has two providers on the same mock: `oai` (OpenAI
 * protocol) and `ant` (Anthropic protocol), and models for each.
 */
export function defaultYaml(mockUrl: string, extra = '', providerHeaders: Record<string, string> = {}): string {
  const headers = JSON.stringify(providerHeaders);
  return `
server: { host: 127.0.0.1, port: 0, bodyLimit: 1048576 }
providers:
  - { name: oai, protocol: openai, baseUrl: "${mockUrl}/v1", apiKey: "sk-oai-secret", headers: ${headers}, quirks: { reasoningEffort: true } }
  - { name: ant, protocol: anthropic, baseUrl: "${mockUrl}", apiKey: "sk-ant-secret", headers: ${headers} }
models:
  - { name: gpt-mock, deployments: [ { provider: oai, model: upstream-gpt } ] }
  - { name: claude-mock, deployments: [ { provider: ant, model: upstream-claude } ] }
routes: { default: claude-mock, background: gpt-mock }
store: { url: "sqlite::memory:" }
${extra}`;
}

export async function startStack(
  t: TestContext,
  options: {
    mock?: MockOptions;
    yaml?: (mockUrl: string) => string;
    providerHeaders?: Record<string, string>;
    extensions?: readonly ExtensionFactory[];
  } = {},
): Promise<Stack> {
  const mock = await startMockProvider({ host: '127.0.0.1', port: 0, ...options.mock });
  t.after(() => mock.close());
  const yaml = options.yaml ?? ((url: string) => defaultYaml(url, '', options.providerHeaders));
  const text = yaml(mock.url);
  // A config without a store gets a throwaway in-memory one: never the shared ./data file or DATABASE_URL.
  const config = parseConfig(/^store:/m.test(text) ? text : `${text}\nstore: { url: "sqlite::memory:" }\n`, { env: {} });
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const gateway = await startGateway({ config, port: 0, logger: createLogger({ level: 'info', destination }), extensions: options.extensions });
  t.after(() => gateway.close());
  return { mock, gateway, logs };
}

export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; json: Record<string, unknown>; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // left empty: the caller asserts on text
  }
  return { status: res.status, headers: res.headers, json, text };
}
