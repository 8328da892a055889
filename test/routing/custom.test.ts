import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/config/index.ts';
import { buildRouter } from '../../src/routing/index.ts';
import type { RouteDecision } from '../../src/routing/index.ts';
import { request, routingConfig, userText } from './helpers.ts';

const counter = globalThis as { swyCustomRouterCalls?: number };

async function syncRouter() {
  const errors: unknown[] = [];
  const requestIds: Array<string | undefined> = [];
  const router = await buildRouter(routingConfig({ custom: './sync.ts' }), {
    onCustomRouterError: (error, requestId) => {
      errors.push(error);
      requestIds.push(requestId);
    },
  });
  return { router, errors, requestIds };
}

function sync(decision: Promise<RouteDecision> | RouteDecision): RouteDecision {
  assert.ok(!(decision instanceof Promise), 'a synchronous custom router keeps decide synchronous');
  return decision;
}

test('the custom router picks a configured model', async () => {
  const { router, errors } = await syncRouter();
  const decision = sync(router.decide(request({ model: 'to-picked' })));
  assert.equal(decision.rule, 'custom');
  assert.equal(decision.modelName, 'picked');
  assert.equal(decision.deployments[0]?.id, 'up/picked-upstream');
  assert.deepEqual(errors, []);
});

test('the custom router may answer an alias or provider,model', async () => {
  const { router } = await syncRouter();
  assert.equal(sync(router.decide(request({ model: 'to-alias' }))).modelName, 'main');
  const direct = sync(router.decide(request({ model: 'to-provider' })));
  assert.equal(direct.rule, 'custom');
  assert.equal(direct.deployments[0]?.id, 'claude/claude-custom');
});

test('the custom router gets the config, the model and a token count', async () => {
  const { router } = await syncRouter();
  assert.equal(sync(router.decide(request({ model: 'ctx' }))).modelName, 'picked');
  assert.equal(sync(router.decide(request({ model: 'by-size', messages: [userText('hi')] }))).modelName, 'picked');
  assert.equal(sync(router.decide(request({ model: 'by-size', messages: [userText('word '.repeat(200))] }))).modelName, 'long');
});

test('an undefined answer falls through to the built-in rules', async () => {
  const { router, errors } = await syncRouter();
  assert.equal(sync(router.decide(request({ model: 'other', reasoning: { mode: 'enabled' } }))).rule, 'think');
  assert.equal(sync(router.decide(request({ model: 'other' }))).rule, 'default');
  assert.deepEqual(errors, []);
});

test('the custom router wins over subagent tags and scenarios', async () => {
  const { router } = await syncRouter();
  const req = request({
    model: 'to-picked',
    system: [{ type: 'text', text: '<CCR-SUBAGENT-MODEL>sub</CCR-SUBAGENT-MODEL>' }],
    reasoning: { mode: 'enabled' },
    messages: [userText('word '.repeat(8000))],
  });
  assert.equal(sync(router.decide(req)).rule, 'custom');
});

test('configured names and provider,model are decided before the custom router is asked', async () => {
  const { router } = await syncRouter();
  const before = counter.swyCustomRouterCalls ?? 0;
  assert.equal(sync(router.decide(request({ model: 'main' }))).rule, 'model');
  assert.equal(sync(router.decide(request({ model: 'up,x' }))).rule, 'explicit');
  assert.equal(counter.swyCustomRouterCalls ?? 0, before);
  router.decide(request({ model: 'anything' }));
  assert.equal(counter.swyCustomRouterCalls, before + 1);
});

test('a throwing custom router is reported, with the request it was deciding, and the built-in rules decide', async () => {
  const { router, errors, requestIds } = await syncRouter();
  const decision = sync(router.decide(request({ model: 'throw' }), undefined, 'req_abc'));
  assert.equal(decision.rule, 'default');
  assert.equal(errors.length, 1);
  assert.match(String(errors[0]), /custom router failed/);
  assert.deepEqual(requestIds, ['req_abc']);
  sync(router.decide(request({ model: 'to-number' }), undefined, 'req_def'));
  assert.deepEqual(requestIds, ['req_abc', 'req_def']);
});

test('an answer that names no configured model is reported and falls through', async () => {
  const { router, errors } = await syncRouter();
  assert.equal(sync(router.decide(request({ model: 'to-unknown' }))).rule, 'default');
  assert.equal(sync(router.decide(request({ model: 'to-unknown-provider' }))).rule, 'default');
  assert.equal(sync(router.decide(request({ model: 'to-number' }))).rule, 'default');
  assert.equal(errors.length, 3);
  assert.match(String(errors[0]), /"no-such-model"/);
  assert.match(String(errors[1]), /"nowhere,x"/);
  assert.ok(errors[2] instanceof TypeError);
});

test('an asynchronous custom router makes decide return a promise', async () => {
  const errors: unknown[] = [];
  const router = await buildRouter(routingConfig({ custom: './async.ts' }), { onCustomRouterError: (e) => errors.push(e) });
  const pending = router.decide(request({ model: 'to-picked' }));
  assert.ok(pending instanceof Promise);
  const decision = await pending;
  assert.equal(decision.rule, 'custom');
  assert.equal(decision.modelName, 'picked');
  assert.equal((await router.decide(request({ model: 'other', reasoning: { mode: 'adaptive' } }))).rule, 'think');
  assert.deepEqual(errors, []);
});

test('a rejecting asynchronous custom router is reported and falls through', async () => {
  const errors: unknown[] = [];
  const router = await buildRouter(routingConfig({ custom: './async.ts' }), { onCustomRouterError: (e) => errors.push(e) });
  assert.equal((await router.decide(request({ model: 'reject' }))).rule, 'default');
  assert.equal(errors.length, 1);
  assert.match(String(errors[0]), /async custom router failed/);
});

test('a module without a default export function is a ConfigError at build time', async () => {
  await assert.rejects(buildRouter(routingConfig({ custom: './no-default.ts' })), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.problems[0]?.path, 'routes.custom');
    assert.match(error.problems[0]?.message ?? '', /default export that is a function/);
    return true;
  });
});

test('a module that fails to load is a ConfigError at build time', async () => {
  await assert.rejects(buildRouter(routingConfig({ custom: './load-error.ts' })), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.problems[0]?.message ?? '', /cannot load .*load-error\.ts: cannot initialise the router/);
    return true;
  });
});
