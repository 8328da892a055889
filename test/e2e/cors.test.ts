/**
 * CORS is opt-in (`server.corsOrigins`): an allowed origin gets its preflight
 * answered and every response (answers, streams, errors, other routes) marked
 * readable; any other origin, or a gateway without the setting, gets nothing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultYaml, startStack } from './stack.ts';

const ORIGIN = 'http://localhost:5173';
const body = JSON.stringify({ model: 'claude-mock', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });

function preflight(url: string, origin: string): Promise<Response> {
  return fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, x-api-key' } });
}

test('an allowed origin gets its preflight answered and CORS headers on answers, streams and errors', async (t) => {
  const { gateway } = await startStack(t, { yaml: (url) => defaultYaml(url).replace('bodyLimit: 1048576', `bodyLimit: 1048576, corsOrigins: ["${ORIGIN}"]`) });
  const pre = await preflight(`${gateway.url}/v1/messages`, ORIGIN);
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), ORIGIN);
  assert.equal(pre.headers.get('access-control-allow-headers'), 'content-type, x-api-key');
  assert.match(pre.headers.get('access-control-allow-methods') ?? '', /POST/);

  const headers = { 'content-type': 'application/json', origin: ORIGIN };
  const answer = await fetch(`${gateway.url}/v1/messages`, { method: 'POST', headers, body });
  assert.equal(answer.status, 200);
  await answer.arrayBuffer();
  assert.equal(answer.headers.get('access-control-allow-origin'), ORIGIN);
  assert.match(answer.headers.get('access-control-expose-headers') ?? '', /x-request-id/);
  const stream = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers, body: body.replace('"max_tokens":16', '"stream":true') });
  assert.equal(stream.status, 200);
  await stream.text();
  assert.equal(stream.headers.get('access-control-allow-origin'), ORIGIN);
  const refused = await fetch(`${gateway.url}/v1/messages`, { method: 'POST', headers, body: '{"model":' });
  assert.equal(refused.status, 400);
  await refused.arrayBuffer();
  assert.equal(refused.headers.get('access-control-allow-origin'), ORIGIN);
  const models = await fetch(`${gateway.url}/v1/models`, { headers: { origin: ORIGIN } });
  await models.arrayBuffer();
  assert.equal(models.headers.get('access-control-allow-origin'), ORIGIN);

  // Another origin: nothing, and its preflight is not answered.
  const other = await preflight(`${gateway.url}/v1/messages`, 'http://evil.example');
  assert.notEqual(other.status, 204);
  await other.arrayBuffer();
  assert.equal(other.headers.get('access-control-allow-origin'), null);
});

test('without server.corsOrigins there are no CORS headers at all', async (t) => {
  const { gateway } = await startStack(t);
  const pre = await preflight(`${gateway.url}/v1/messages`, ORIGIN);
  await pre.arrayBuffer();
  assert.equal(pre.headers.get('access-control-allow-origin'), null);
  const answer = await fetch(`${gateway.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', origin: ORIGIN }, body });
  await answer.arrayBuffer();
  assert.equal(answer.status, 200);
  assert.equal(answer.headers.get('access-control-allow-origin'), null);
});
