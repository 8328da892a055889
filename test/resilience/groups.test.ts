import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/index.ts';
import { Resilience } from '../../src/resilience/index.ts';
import { buildRouter } from '../../src/routing/index.ts';

const yaml = (extra = ''): string => `
providers:
  - { name: a, protocol: openai, baseUrl: "http://127.0.0.1:1/v1" }
  - { name: b, protocol: openai, baseUrl: "http://127.0.0.1:2/v1" }
models:
  - name: rr
    strategy: round-robin
    breaker: { consecutiveFailures: 2, cooldownMs: 1000 }
    deployments: [ { provider: a, model: x }, { provider: b, model: x } ]
  - { name: solo, deployments: [ { provider: a, model: x } ] }
${extra}
routes: { default: rr }
`;

async function build(text: string, clock?: () => number): Promise<{ resilience: Resilience; router: Awaited<ReturnType<typeof buildRouter>> }> {
  const config = parseConfig(text, { env: {} });
  const router = await buildRouter(config);
  return { resilience: new Resilience(config, router, clock === undefined ? {} : { clock }), router };
}

test('a configured model gets its strategy and one shared health per deployment id', async () => {
  const { resilience, router } = await build(yaml());
  const rr = resilience.group(router.decideByName('rr')!);
  const solo = resilience.group(router.decideByName('solo')!);
  assert.deepEqual(rr.order(), [0, 1]);
  assert.deepEqual(rr.order(), [1, 0]);
  assert.equal(rr.health[0], solo.health[0], 'a/x is one deployment, whichever group lists it');
  assert.deepEqual(solo.order(), [0]);
});

test('a provider,model target is tracked too and costs one lookup after the first request', async () => {
  const { resilience, router } = await build(yaml());
  const first = resilience.group(router.decideByName('b,y')!);
  const again = resilience.group(router.decideByName('b,y')!);
  assert.equal(first, again);
  assert.equal(first.health[0]!.id, 'b/y');
});

test('the model breaker settings apply to its deployments', async () => {
  let t = 0;
  const { resilience, router } = await build(yaml(), () => t);
  const h = resilience.group(router.decideByName('rr')!).health[1]!;
  for (let i = 0; i < 2; i++) {
    const ticket = h.acquire();
    h.fail(ticket);
    h.release(ticket, true);
  }
  assert.equal(h.state, 'open');
  t = 1000;
  assert.equal(h.state, 'half-open');
});

test('a reload keeps the health of deployments that still exist and drops the others', async () => {
  const before = await build(yaml());
  const h = before.resilience.group(before.router.decideByName('rr')!).health[1]!;
  const ticket = h.acquire();
  h.fail(ticket);
  h.fail(h.acquire());
  assert.equal(h.state, 'open');
  assert.equal(h.inFlight, 2);

  const changed = yaml().replace('{ provider: b, model: x } ]', '{ provider: b, model: x }, { provider: b, model: z } ]');
  const after = await build(changed);
  after.resilience.adopt(before.resilience);
  const group = after.resilience.group(after.router.decideByName('rr')!);
  assert.equal(group.health[1], h, 'b/x carried over');
  assert.equal(group.health[1]!.state, 'open');
  assert.equal(group.health[2]!.state, 'closed');
  // The open deployment is skipped by the new version's ordering too.
  for (let i = 0; i < 3; i++) assert.ok(!group.order().includes(1));
  // A request still running on the old version ends on the same object.
  h.release(ticket, true);
  assert.equal(group.health[1]!.inFlight, 1);
});
