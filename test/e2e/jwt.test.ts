/**
 * JWTs as client credentials, verified against a JWKS served on loopback or a
 * shared secret: a good token maps to its tenant (and scope claims); alg none,
 * a wrong issuer or audience, an expired token, one signed by an unknown key or
 * naming an unknown tenant all get 401 in the client's shape, and no token
 * reaches the logs.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { postJson } from './stack.ts';
import { anthropicBody, openaiBody, startAuthStack } from '../tenancy/helpers.ts';

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'switchyard';

async function jwksServer(t: TestContext) {
  const signing = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(signing.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  let fetches = 0;
  const server = createServer((req, res) => {
    fetches++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  return { url, privateKey: signing.privateKey, fetches: () => fetches };
}

function sign(key: Parameters<SignJWT["sign"]>[0], claims: JWTPayload, options: { alg?: string; kid?: string; iss?: string; aud?: string; exp?: string | number } = {}) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? 'RS256', ...(options.kid === undefined ? {} : { kid: options.kid }) })
    .setIssuer(options.iss ?? ISSUER)
    .setAudience(options.aud ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.exp ?? '5m')
    .sign(key);
}

function unsigned(claims: JWTPayload): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 300, ...claims })}.`;
}

test('JWKS: a valid token maps to its tenant; alg none, wrong issuer or audience, expired, unknown key or tenant get 401', async (t) => {
  const jwks = await jwksServer(t);
  const { gateway, logs } = await startAuthStack(t, {
    extra: `auth: { jwt: { jwksUrl: "${jwks.url}", issuer: "${ISSUER}", audience: "${AUDIENCE}", tenantClaim: org, modelsClaim: models } }`,
    before: async (repo) => void (await repo.createTenant('acme', { requestsPerMinute: 100 })),
  });
  const good = await sign(jwks.privateKey, { org: 'acme', sub: 'user-1' }, { kid: 'k1' });
  const ok = await postJson(`${gateway.url}/v1/messages`, anthropicBody, { authorization: `Bearer ${good}` });
  assert.equal(ok.status, 200, ok.text);
  const line = logs.find((l) => l.msg === 'request' && l.status === 200);
  assert.equal(line?.tenant, 'acme');

  const stranger = await generateKeyPair('RS256');
  const otherSecret = new TextEncoder().encode('x'.repeat(32));
  const tokens: Record<string, string> = {
    'alg none': unsigned({ org: 'acme' }),
    'wrong issuer': await sign(jwks.privateKey, { org: 'acme' }, { kid: 'k1', iss: 'https://evil.test' }),
    'wrong audience': await sign(jwks.privateKey, { org: 'acme' }, { kid: 'k1', aud: 'someone-else' }),
    expired: await sign(jwks.privateKey, { org: 'acme' }, { kid: 'k1', exp: Math.floor(Date.now() / 1000) - 3600 }),
    'unknown key': await sign(stranger.privateKey, { org: 'acme' }, { kid: 'k1' }),
    'unknown kid': await sign(stranger.privateKey, { org: 'acme' }, { kid: 'k9' }),
    'HMAC with a guessed secret': await sign(otherSecret, { org: 'acme' }, { alg: 'HS256', kid: 'k1' }),
    'unknown tenant': await sign(jwks.privateKey, { org: 'nobody' }, { kid: 'k1' }),
    'no tenant claim': await sign(jwks.privateKey, { sub: 'x' }, { kid: 'k1' }),
  };
  for (const [why, token] of Object.entries(tokens)) {
    const anthropic = await postJson(`${gateway.url}/v1/messages`, anthropicBody, { authorization: `Bearer ${token}` });
    assert.equal(anthropic.status, 401, why);
    assert.equal((anthropic.json.error as Record<string, unknown>).type, 'authentication_error', why);
    assert.ok(anthropic.headers.get('request-id'), why);
    assert.ok(!anthropic.text.includes(token.split('.')[1]!), `${why}: the token is not echoed`);
    const openai = await postJson(`${gateway.url}/v1/chat/completions`, openaiBody, { authorization: `Bearer ${token}` });
    assert.equal(openai.status, 401, why);
  }
  const reasons = logs.filter((l) => l.msg === 'auth: request refused').map((l) => String(l.reason));
  assert.ok(reasons.some((r) => r.includes('ERR_JWT_EXPIRED')));
  assert.ok(reasons.some((r) => r.includes('iss')));
  const all = JSON.stringify(logs);
  for (const token of [good, ...Object.values(tokens)]) assert.ok(!all.includes(token.split('.')[1]!), 'no token in the logs');
});

test('JWT scope claims limit the models a token may use', async (t) => {
  const jwks = await jwksServer(t);
  const { gateway } = await startAuthStack(t, {
    extra: `auth: { jwt: { jwksUrl: "${jwks.url}", issuer: "${ISSUER}", audience: "${AUDIENCE}", modelsClaim: models } }`,
    before: async (repo) => void (await repo.createTenant('acme')),
  });
  const scoped = await sign(jwks.privateKey, { tenant: 'acme', models: 'gpt-mock' }, { kid: 'k1' });
  assert.equal((await postJson(`${gateway.url}/v1/chat/completions`, openaiBody, { authorization: `Bearer ${scoped}` })).status, 200);
  const denied = await postJson(`${gateway.url}/v1/messages`, anthropicBody, { authorization: `Bearer ${scoped}` });
  assert.equal(denied.status, 403);
  assert.equal((denied.json.error as Record<string, unknown>).type, 'permission_error');
});

test('shared secret: HS256 tokens signed with it pass; RS256 or another secret do not', async (t) => {
  const secret = 'a-shared-secret-of-at-least-32-characters!';
  const { gateway } = await startAuthStack(t, {
    extra: `auth: { jwt: { secret: "${secret}", issuer: "${ISSUER}", audience: [${AUDIENCE}, other] } }`,
    before: async (repo) => void (await repo.createTenant('acme')),
  });
  const good = await sign(new TextEncoder().encode(secret), { tenant: 'acme' }, { alg: 'HS256' });
  assert.equal((await postJson(`${gateway.url}/v1/messages`, anthropicBody, { 'x-api-key': good })).status, 200);
  const wrong = await sign(new TextEncoder().encode(`${secret}-not`), { tenant: 'acme' }, { alg: 'HS256' });
  assert.equal((await postJson(`${gateway.url}/v1/messages`, anthropicBody, { 'x-api-key': wrong })).status, 401);
  const rsa = await generateKeyPair('RS256');
  const asymmetric = await sign(rsa.privateKey, { tenant: 'acme' });
  assert.equal((await postJson(`${gateway.url}/v1/messages`, anthropicBody, { 'x-api-key': asymmetric })).status, 401);
  assert.equal((await postJson(`${gateway.url}/v1/messages`, anthropicBody, { 'x-api-key': unsigned({ tenant: 'acme' }) })).status, 401);
  // With JWT configured the gateway requires credentials even on loopback with no keys.
  assert.equal((await postJson(`${gateway.url}/v1/messages`, anthropicBody)).status, 401);
});
