import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, configFromObject } from '../../src/config/index.ts';
import type { Env } from '../../src/config/index.ts';

/** A valid config whose first provider's apiKey and headers are the given strings. */
function withValues(apiKey: string, header = 'x', env: Env = {}) {
  return configFromObject(
    {
      providers: [{ name: 'p', protocol: 'openai', baseUrl: 'http://127.0.0.1:9/v1', apiKey, headers: { 'x-extra': header } }],
      routes: { default: 'p,m' },
    },
    { env },
  ).providers[0];
}

function problemsFor(apiKey: string, env: Env = {}) {
  try {
    withValues(apiKey, 'x', env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

test('a set variable is substituted inside a longer string', () => {
  assert.equal(withValues('Bearer ${TOKEN}!', 'x', { TOKEN: 'abc' })?.apiKey, 'Bearer abc!');
});

test('several variables in one value are all substituted', () => {
  assert.equal(withValues('${A}-${B}', 'x', { A: '1', B: '2' })?.apiKey, '1-2');
});

test('the default applies when the variable is unset', () => {
  assert.equal(withValues('${TOKEN:-fallback}')?.apiKey, 'fallback');
});

test('the default applies when the variable is empty, as in the shell', () => {
  assert.equal(withValues('${TOKEN:-fallback}', 'x', { TOKEN: '' })?.apiKey, 'fallback');
});

test('an empty default is allowed and gives an empty string', () => {
  assert.equal(withValues('${TOKEN:-}')?.apiKey, '');
});

test('a set-but-empty variable without a default is accepted as empty', () => {
  assert.equal(withValues('${TOKEN}', 'x', { TOKEN: '' })?.apiKey, '');
});

test('$${ is an escape for a literal ${', () => {
  assert.equal(withValues('$${TOKEN}', 'x', { TOKEN: 'abc' })?.apiKey, '${TOKEN}');
  assert.equal(withValues('cost: $5 and $$', 'x')?.apiKey, 'cost: $5 and $$');
});

test('an unset variable without a default is reported by name and path', () => {
  const problems = problemsFor('${MISSING_TOKEN}');
  assert.deepEqual(problems, [
    { path: 'providers.0.apiKey', message: 'environment variable MISSING_TOKEN is not set (write ${MISSING_TOKEN:-default} for a fallback)' },
  ]);
});

test('every missing variable is reported, not only the first', () => {
  try {
    configFromObject(
      {
        providers: [{ name: 'p', protocol: 'openai', baseUrl: '${BASE}', apiKey: '${KEY}' }],
        routes: { default: 'p,m' },
      },
      { env: {} },
    );
    assert.fail('expected a ConfigError');
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    // The empty baseUrl is not reported a second time as "must be an http(s) URL".
    assert.deepEqual(
      error.problems.map((p) => p.path),
      ['providers.0.baseUrl', 'providers.0.apiKey'],
    );
  }
});

test('an unterminated or invalid reference is a problem', () => {
  assert.match(problemsFor('${TOKEN')[0]?.message ?? '', /unterminated/);
  assert.match(problemsFor('${1BAD}')[0]?.message ?? '', /invalid environment variable name "1BAD"/);
});

test('keys are not interpolated, values in lists are', () => {
  const config = configFromObject(
    {
      providers: [{ name: 'p', protocol: 'openai', baseUrl: 'http://127.0.0.1:9/v1', models: ['${M}'], headers: { '${H}': 'v' } }],
      routes: { default: 'p,m' },
    },
    { env: { M: 'gpt', H: 'x-h' } },
  );
  assert.deepEqual(config.providers[0]?.models, ['gpt']);
  assert.deepEqual(config.providers[0]?.headers, { '${H}': 'v' });
});
