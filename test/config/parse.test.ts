import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, builtinExampleConfig, configFromObject, loadConfigFile, parseConfig } from '../../src/config/index.ts';
import type { ConfigProblem } from '../../src/config/index.ts';

const minimalYaml = readFileSync(new URL('../../examples/minimal.yaml', import.meta.url), 'utf8');
const keys = { MOCK_KEY: 'mock-secret', ANTHROPIC_API_KEY: 'sk-ant-secret' };

function problemsOf(fn: () => unknown): ConfigProblem[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

function has(problems: ConfigProblem[], path: string, message: RegExp): void {
  assert.ok(
    problems.some((p) => p.path === path && message.test(p.message)),
    `no problem at ${path} matching ${message}; got:\n${problems.map((p) => `${p.path}: ${p.message}`).join('\n')}`,
  );
}

test('the minimal YAML from the documentation parses as written', () => {
  const config = parseConfig(minimalYaml, { env: keys });
  assert.equal(config.server.host, '127.0.0.1');
  assert.equal(config.server.port, 3456);
  assert.equal(config.providers.length, 2);
  assert.equal(config.providers[0]?.apiKey, 'mock-secret');
  assert.equal(config.providers[1]?.apiKey, 'sk-ant-secret');
  assert.equal(config.providers[1]?.baseUrl, 'https://api.anthropic.com');
  assert.deepEqual(config.models[0]?.deployments, [{ provider: 'mock', model: 'mock-model', weight: 1 }]);
  assert.equal(config.routes.default, 'mock-model');
});

test('numbers and booleans given through ${VAR} are accepted in every section', () => {
  const yaml = `
providers: [ { name: mock, protocol: openai, baseUrl: "http://127.0.0.1:9100/v1", quirks: { reasoningEffort: "\${RE}", maxStopSequences: "\${STOPS}" } } ]
models: [ { name: m, deployments: [ { provider: mock, model: m } ] } ]
routes: { default: m }
auth: { allowOpen: "\${ALLOW_OPEN}", cacheTtlMs: "\${AUTH_TTL}", jwt: { jwksUrl: "http://127.0.0.1:9/jwks", issuer: "https://idp.example", audience: "switchyard", clockToleranceSec: "\${SKEW}" } }
metrics: { maxSeries: "\${MAX_SERIES}" }
tracing: { sampleRatio: "\${SAMPLE}" }
pricing: { builtins: "\${PRICING_BUILTINS}" }
usage: { batchSize: "\${BATCH}" }
`;
  const env = { RE: 'true', STOPS: '8', ALLOW_OPEN: 'true', AUTH_TTL: '5000', SKEW: '10', MAX_SERIES: '500', SAMPLE: '0.25', PRICING_BUILTINS: 'false', BATCH: '200' };
  const config = parseConfig(yaml, { env });
  assert.equal(config.providers[0]?.quirks?.maxStopSequences, 8);
  assert.equal(config.auth.allowOpen, true);
  assert.equal(config.auth.cacheTtlMs, 5000);
  assert.equal(config.auth.jwt?.clockToleranceSec, 10);
  assert.equal(config.metrics.maxSeries, 500);
  assert.equal(config.tracing.sampleRatio, 0.25);
  assert.equal(config.pricing.builtins, false);
  assert.equal(config.usage.batchSize, 200);
});

test('defaults are filled in everywhere', () => {
  const config = parseConfig(minimalYaml, { env: keys });
  assert.deepEqual(config.server, {
    host: '127.0.0.1',
    port: 3456,
    bodyLimit: 33_554_432,
    maxHeaderSize: 16_384,
    maxNestingDepth: 128,
    requestTimeoutMs: 600_000,
    shutdownTimeoutMs: 10_000,
    maxConcurrent: 0,
    maxQueue: 1000,
    maxQueueWaitMs: 30_000,
    workers: 1,
    corsOrigins: [],
  });
  assert.deepEqual(config.providers[0]?.pool, {
    connections: 64,
    connectTimeoutMs: 5_000,
    headersTimeoutMs: 120_000,
    bodyTimeoutMs: 300_000,
    keepAliveTimeoutMs: 30_000,
  });
  assert.equal(config.providers[0]?.defaultMaxTokens, 4096);
  assert.deepEqual(config.providers[0]?.headers, {});
  assert.deepEqual(config.providers[0]?.models, []);
  assert.deepEqual(config.models[0]?.aliases, []);
  assert.equal(config.routes.longContextThreshold, 60_000);
  assert.equal(config.routes.backgroundPattern, '(^|[-_/])haiku');
  assert.deepEqual(config.logging, { level: 'info', format: 'json', levels: {}, bodies: false, bodyMaxChars: 2048 });
});

test('the configuration is deeply frozen', () => {
  const config = parseConfig(minimalYaml, { env: keys });
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.server));
  assert.ok(Object.isFrozen(config.providers));
  assert.ok(Object.isFrozen(config.providers[0]));
  assert.ok(Object.isFrozen(config.providers[0]?.pool));
  assert.ok(Object.isFrozen(config.models[0]?.deployments[0]));
  assert.throws(() => {
    (config.server as { port: number }).port = 1;
  }, TypeError);
  assert.throws(() => {
    (config.providers as unknown as unknown[]).push({});
  }, TypeError);
});

test('every class of problem is reported together in one error', () => {
  const yaml = `
server: { host: "", port: 99999, bodyLimit: lots, extra: 1 }
Router: {}
providers:
  - { name: "a,b", protocol: opnai, baseUrl: "ftp://example.test", pool: { conections: 3 } }
  - { name: claude, protocol: anthropic, baseUrl: "https://api.anthropic.com/v1", preset: groq }
  - { name: claude, protocol: openai, baseUrl: "http://127.0.0.1:1/v1/chat/completions", apiKey: "\${NOT_SET}" }
  - { name: q, protocol: openai, baseUrl: "http://127.0.0.1:1/v1", quirks: { maxTokensField: maxTokens, topk: true } }
models:
  - { name: m, deployments: [ { provider: nowhere, model: x } ], aliases: [m2] }
  - { name: m2, deployments: [] }
  - { deployments: [ { provider: q, model: x, weight: -1 } ] }
routes: { default: missing, think: "nowhere,x", background: "q,", backgroundPattern: "(", custom: ./no-such-router.ts }
logging: { level: verbose, format: text }
`;
  let error: unknown;
  try {
    parseConfig(yaml, { env: {}, baseDir: tmpdir(), source: 'bad.yaml' });
  } catch (caught) {
    error = caught;
  }
  assert.ok(error instanceof ConfigError);
  const p = error.problems;
  // schema: types, ranges, enums, formats, required, empty
  has(p, 'server.host', /must not be empty/);
  has(p, 'server.port', /<= 65535/);
  has(p, 'server.bodyLimit', /must be a number, got a string/);
  has(p, 'providers.0.name', /commas/);
  has(p, 'providers.0.protocol', /one of: anthropic, openai/);
  has(p, 'providers.0.baseUrl', /^must be an http\(s\) URL$/);
  has(p, 'providers.3.quirks.maxTokensField', /one of: max_tokens, max_completion_tokens/);
  has(p, 'models.1.deployments', /at least 1/);
  has(p, 'models.2.name', /is required/);
  has(p, 'models.2.deployments.0.weight', />= 0/);
  has(p, 'routes.backgroundPattern', /regular expression/);
  has(p, 'logging.level', /one of/);
  has(p, 'logging.format', /one of: json, pretty/);
  // unknown keys, with hints
  has(p, 'server.extra', /unknown key \(allowed: host, port/);
  has(p, 'Router', /use routes/);
  has(p, 'providers.0.pool.conections', /did you mean "connections"/);
  has(p, 'providers.3.quirks.topk', /did you mean "topK"/);
  // environment
  has(p, 'providers.2.apiKey', /NOT_SET is not set/);
  // cross-checks
  has(p, 'providers.1.baseUrl', /without \/v1/);
  has(p, 'providers.1.preset', /openai only/);
  has(p, 'providers.2.name', /duplicate provider name "claude" \(also providers.1\)/);
  has(p, 'providers.2.baseUrl', /without \/chat\/completions/);
  has(p, 'models.0.deployments.0.provider', /unknown provider "nowhere"/);
  has(p, 'models.1.name', /duplicate model name or alias "m2" \(also models.0.aliases.0\)/);
  has(p, 'routes.default', /unknown model "missing"/);
  has(p, 'routes.think', /unknown provider "nowhere"/);
  has(p, 'routes.background', /no model after the comma/);
  has(p, 'routes.custom', /file not found/);
  // the message lists every problem, one per line, and names the file
  const lines = error.message.split('\n');
  assert.match(lines[0] ?? '', /^Invalid configuration bad\.yaml \(\d+ problems\):$/);
  assert.equal(lines.length, p.length + 1);
  for (const problem of p) assert.ok(lines.includes(`  ${problem.path}: ${problem.message}`));
});

test('problems are grouped by section and entry', () => {
  const problems = problemsOf(() =>
    configFromObject({
      logging: { level: 'loud' },
      routes: { default: 'nope' },
      providers: [
        { name: 'a', protocol: 'x', baseUrl: 'http://127.0.0.1' },
        { name: 'a', protocol: 'openai', baseUrl: 'bad' },
      ],
      server: { port: 'x' },
    }, { env: {} }),
  );
  assert.deepEqual(
    problems.map((p) => p.path),
    ['server.port', 'providers.0.protocol', 'providers.1.baseUrl', 'providers.1.name', 'routes.default', 'logging.level'],
  );
});

test('a missing required section is reported as required', () => {
  const problems = problemsOf(() => parseConfig('server: {}\n', { env: {} }));
  has(problems, 'providers', /is required/);
  has(problems, 'routes', /is required/);
});

test('a document that is not a mapping is rejected', () => {
  has(problemsOf(() => parseConfig('- a\n- b\n')), '(root)', /must be a mapping/);
  has(problemsOf(() => parseConfig('')), '(root)', /must be a mapping/);
});

test('YAML syntax errors and duplicate keys are reported with their position', () => {
  has(problemsOf(() => parseConfig('a: [1\nb: 2\n')), '(yaml) line 2, column 1', /Flow sequence/);
  const duplicate = problemsOf(() => parseConfig('routes: { default: a }\nroutes: { default: b }\n'));
  has(duplicate, '(yaml) line 2, column 1', /^Map keys must be unique$/);
});

test('error messages never echo configured values such as keys', () => {
  const problems = problemsOf(() =>
    configFromObject({
      providers: [{ name: 'p', protocol: 'openai', baseUrl: 'sk-secret-value', apiKey: 12345, headers: { a: 1 } }],
      routes: { default: 'p,m' },
    }),
  );
  has(problems, 'providers.0.apiKey', /must be a string, got a number/);
  has(problems, 'providers.0.headers.a', /must be a string/);
  assert.ok(problems.every((p) => !p.message.includes('sk-secret-value') && !p.message.includes('12345')));
});

test('numbers and booleans can come from environment variables', () => {
  const config = parseConfig(
    `${minimalYaml}\nlogging: { bodies: "\${BODIES}" }\n`.replace('port: 3456', 'port: "${PORT:-3456}"'),
    { env: { ...keys, PORT: '8080', BODIES: 'true' } },
  );
  assert.equal(config.server.port, 8080);
  assert.equal(config.logging.bodies, true);
});

test('a route may name an alias or provider,model, and a deployment weight defaults to 1', () => {
  const config = configFromObject({
    providers: [{ name: 'p', protocol: 'openai', baseUrl: 'http://127.0.0.1:9/v1/' }],
    models: [{ name: 'm', aliases: ['fast'], deployments: [{ provider: 'p', model: 'x', weight: 3 }, { provider: 'p', model: 'y' }] }],
    routes: { default: 'fast', think: 'p,reasoner' },
  });
  assert.equal(config.providers[0]?.baseUrl, 'http://127.0.0.1:9/v1', 'trailing slash removed');
  assert.deepEqual(config.models[0]?.deployments.map((d) => d.weight), [3, 1]);
});

test('quirks and presets are validated for openai providers', () => {
  const config = configFromObject({
    providers: [
      {
        name: 'ds',
        protocol: 'openai',
        baseUrl: 'http://127.0.0.1:9/v1',
        preset: 'deepseek',
        quirks: { reasoningField: 'reasoning_content', sendReasoningBack: true, maxTokensField: 'max_tokens' },
      },
    ],
    routes: { default: 'ds,deepseek-chat' },
  });
  assert.equal(config.providers[0]?.preset, 'deepseek');
  assert.deepEqual(config.providers[0]?.quirks, { reasoningField: 'reasoning_content', sendReasoningBack: true, maxTokensField: 'max_tokens' });
  has(
    problemsOf(() => configFromObject({ providers: [{ name: 'x', protocol: 'openai', baseUrl: 'http://h/v1', preset: 'azure' }], routes: { default: 'x,m' } })),
    'providers.0.preset',
    /one of: openai, openrouter, deepseek/,
  );
});

test('routes.custom is resolved against the config file folder', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'swy-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'router.ts'), 'export default () => undefined;\n');
  writeFileSync(join(dir, 'switchyard.yaml'), `${minimalYaml}`.replace('routes: { default: mock-model }', 'routes: { default: mock-model, custom: ./router.ts }'));
  const config = await loadConfigFile(join(dir, 'switchyard.yaml'), keys);
  assert.equal(config.routes.custom, join(dir, 'router.ts'));
});

test('a missing config file is a ConfigError naming the file', async () => {
  const missing = join(tmpdir(), 'swy-definitely-missing.yaml');
  await assert.rejects(loadConfigFile(missing, {}), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    has(error.problems, '(file)', /cannot read .*ENOENT/);
    return true;
  });
});

test('the built-in example config points both protocols at the mock', () => {
  const config = builtinExampleConfig('http://127.0.0.1:9100/');
  assert.deepEqual(
    config.providers.map((p) => [p.name, p.protocol, p.baseUrl]),
    [
      ['mock', 'openai', 'http://127.0.0.1:9100/v1'],
      ['mock-anthropic', 'anthropic', 'http://127.0.0.1:9100'],
    ],
  );
  assert.deepEqual(config.models.map((m) => m.name), ['mock-model', 'mock-claude']);
  assert.equal(config.routes.default, 'mock-claude');
  assert.equal(config.routes.background, 'mock-model');
  assert.ok(Object.isFrozen(config.providers[0]));
});
