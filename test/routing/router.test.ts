import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configFromObject } from '../../src/config/index.ts';
import { GatewayError } from '../../src/errors.ts';
import { buildRouter } from '../../src/routing/index.ts';
import type { RouteDecision, Router } from '../../src/routing/index.ts';
import type { ChatRequest } from '../../src/model/types.ts';
import { pngImage, request, routingConfig, userText, webSearchServerTool } from './helpers.ts';

/** decide() without a custom router is synchronous; assert that too. */
function decideSync(router: Router, req: ChatRequest, rawModel?: string): RouteDecision {
  const decision = router.decide(req, rawModel);
  assert.ok(!(decision instanceof Promise), 'decide is synchronous without a custom router');
  return decision;
}

const longText = 'word '.repeat(8000); // ~8000 tokens, over the 5000 threshold

test('provider,model picks that provider directly', async () => {
  const router = await buildRouter(routingConfig());
  const decision = decideSync(router, request({ model: 'claude,claude-opus-4-1' }));
  assert.equal(decision.rule, 'explicit');
  assert.equal(decision.modelName, 'claude,claude-opus-4-1');
  assert.equal(decision.deployments.length, 1);
  const [deployment] = decision.deployments;
  assert.equal(deployment?.provider.name, 'claude');
  assert.equal(deployment?.provider.protocol, 'anthropic');
  assert.equal(deployment?.model, 'claude-opus-4-1');
  assert.equal(deployment?.weight, 1);
  assert.equal(deployment?.id, 'claude/claude-opus-4-1');
});

test('provider,model wins over every scenario', async () => {
  const router = await buildRouter(routingConfig());
  const req = request({ model: 'up,x', reasoning: { mode: 'enabled' }, tools: [webSearchServerTool], messages: [userText(longText)] });
  assert.equal(decideSync(router, req).rule, 'explicit');
});

test('an unknown provider in provider,model is a SWY_ERR_UNKNOWN_PROVIDER error', async () => {
  const router = await buildRouter(routingConfig());
  assert.throws(
    () => router.decide(request({ model: 'nowhere,gpt-4o' })),
    (error: unknown) => error instanceof GatewayError && error.code === 'SWY_ERR_UNKNOWN_PROVIDER' && error.status === 404 && /nowhere/.test(error.message),
  );
});

test('provider,model with nothing after the comma is a SWY_ERR_UNKNOWN_MODEL error', async () => {
  const router = await buildRouter(routingConfig());
  assert.throws(() => router.decide(request({ model: 'up, ' })), (error: unknown) => error instanceof GatewayError && error.code === 'SWY_ERR_UNKNOWN_MODEL');
});

test('a configured model name resolves to its deployments in order', async () => {
  const router = await buildRouter(routingConfig());
  const decision = decideSync(router, request({ model: 'main' }));
  assert.equal(decision.rule, 'model');
  assert.equal(decision.modelName, 'main');
  assert.deepEqual(
    decision.deployments.map((d) => [d.id, d.weight, d.provider.baseUrl]),
    [
      ['claude/claude-main', 2, 'http://127.0.0.1:9'],
      ['up/main-upstream', 1, 'http://127.0.0.1:9/v1'],
    ],
  );
});

test('an alias resolves to its model under the canonical name', async () => {
  const router = await buildRouter(routingConfig());
  const decision = decideSync(router, request({ model: 'primary' }));
  assert.equal(decision.rule, 'model');
  assert.equal(decision.modelName, 'main');
});

test('a configured name wins over every scenario', async () => {
  const router = await buildRouter(routingConfig());
  const req = request({ model: 'bg', reasoning: { mode: 'enabled' }, messages: [userText(longText)] });
  const decision = decideSync(router, req);
  assert.equal(decision.rule, 'model');
  assert.equal(decision.modelName, 'bg');
});

test('rawModel is used instead of req.model when given', async () => {
  const router = await buildRouter(routingConfig());
  assert.equal(decideSync(router, request({ model: 'main' }), 'thinker').modelName, 'thinker');
});

test('decisions for names and scenarios are shared frozen objects', async () => {
  const router = await buildRouter(routingConfig());
  const a = decideSync(router, request({ model: 'main' }));
  assert.equal(decideSync(router, request({ model: 'main' })), a);
  assert.ok(Object.isFrozen(a) && Object.isFrozen(a.deployments) && Object.isFrozen(a.deployments[0]));
  assert.equal(decideSync(router, request()), decideSync(router, request()));
});

test('a subagent tag in the system prompt picks the tagged model', async () => {
  const router = await buildRouter(routingConfig());
  const req = request({
    system: [
      { type: 'text', text: 'You are Claude Code.' },
      { type: 'text', text: '<CCR-SUBAGENT-MODEL>sub</CCR-SUBAGENT-MODEL>\nYou review code.' },
    ],
  });
  const decision = decideSync(router, req);
  assert.equal(decision.rule, 'subagent');
  assert.equal(decision.modelName, 'sub');
});

test('a subagent tag in the first user message picks the tagged model, even as provider,model', async () => {
  const router = await buildRouter(routingConfig());
  const req = request({ messages: [userText('<CCR-SUBAGENT-MODEL> up,special </CCR-SUBAGENT-MODEL> do the task')] });
  const decision = decideSync(router, req);
  assert.equal(decision.rule, 'subagent');
  assert.equal(decision.modelName, 'up,special');
  assert.equal(decision.deployments[0]?.id, 'up/special');
});

test('a subagent tag in a later user message is ignored', async () => {
  const router = await buildRouter(routingConfig());
  const req = request({
    messages: [userText('first'), { role: 'assistant', content: [{ type: 'text', text: 'ok' }] }, userText('<CCR-SUBAGENT-MODEL>sub</CCR-SUBAGENT-MODEL>')],
  });
  assert.equal(decideSync(router, req).rule, 'default');
});

test('a subagent tag naming an unknown model falls through to the scenarios', async () => {
  const router = await buildRouter(routingConfig());
  const req = request({ system: [{ type: 'text', text: '<CCR-SUBAGENT-MODEL>nope</CCR-SUBAGENT-MODEL>' }], reasoning: { mode: 'enabled' } });
  assert.equal(decideSync(router, req).rule, 'think');
});

test('a subagent tag wins over the long-context and other scenarios', async () => {
  const router = await buildRouter(routingConfig());
  const req = request({
    model: 'claude-3-5-haiku-20241022',
    system: [{ type: 'text', text: '<CCR-SUBAGENT-MODEL>sub</CCR-SUBAGENT-MODEL>' }],
    messages: [userText(longText)],
  });
  assert.equal(decideSync(router, req).rule, 'subagent');
});

test('more input tokens than the threshold routes to longContext', async () => {
  const router = await buildRouter(routingConfig());
  const decision = decideSync(router, request({ messages: [userText(longText)] }));
  assert.equal(decision.rule, 'longContext');
  assert.equal(decision.modelName, 'long');
});

test('a request just under the threshold in tokens but over it in bytes stays on default', async () => {
  const router = await buildRouter(routingConfig());
  // 'word ' is one token per 5 bytes: 7500 bytes, ~1500 tokens.
  const decision = decideSync(router, request({ messages: [userText('word '.repeat(1500))] }));
  assert.equal(decision.rule, 'default');
});

test('long context wins over background, web search, thinking and images', async () => {
  const router = await buildRouter(routingConfig());
  const req = request({
    model: 'claude-haiku-4-5',
    tools: [webSearchServerTool],
    reasoning: { mode: 'enabled', budgetTokens: 2048 },
    messages: [{ role: 'user', content: [{ type: 'text', text: longText }, pngImage] }],
  });
  assert.equal(decideSync(router, req).rule, 'longContext');
});

test('a haiku model name routes to background', async () => {
  const router = await buildRouter(routingConfig());
  for (const model of ['claude-3-5-haiku-20241022', 'claude-haiku-4-5-20251001', 'anthropic/claude-3-haiku', 'Claude-Haiku-4-5']) {
    const decision = decideSync(router, request({ model }));
    assert.equal(decision.rule, 'background', model);
    assert.equal(decision.modelName, 'bg');
  }
  assert.equal(decideSync(router, request({ model: 'claude-sonnet-4-5' })).rule, 'default');
  assert.equal(decideSync(router, request({ model: 'haikus-are-nice' })).rule, 'background');
  assert.equal(decideSync(router, request({ model: 'shaiku' })).rule, 'default');
});

test('background wins over web search, thinking and images', async () => {
  const router = await buildRouter(routingConfig());
  const req = request({ model: 'claude-haiku-4-5', tools: [webSearchServerTool], reasoning: { mode: 'enabled' }, messages: [{ role: 'user', content: [pngImage] }] });
  assert.equal(decideSync(router, req).rule, 'background');
});

test('a custom backgroundPattern is used', async () => {
  const router = await buildRouter(routingConfig({ backgroundPattern: '^small-' }));
  assert.equal(decideSync(router, request({ model: 'small-one' })).rule, 'background');
  assert.equal(decideSync(router, request({ model: 'claude-haiku-4-5' })).rule, 'default');
});

test('a web_search server tool routes to webSearch', async () => {
  const router = await buildRouter(routingConfig());
  const decision = decideSync(router, request({ tools: [webSearchServerTool] }));
  assert.equal(decision.rule, 'webSearch');
  assert.equal(decision.deployments[0]?.provider.name, 'claude');
});

test('a function tool named web_search routes to webSearch, other tools do not', async () => {
  const router = await buildRouter(routingConfig());
  const fn = (name: string) => ({ kind: 'function' as const, name, inputSchema: { type: 'object' } });
  assert.equal(decideSync(router, request({ tools: [fn('Bash'), fn('web_search')] })).rule, 'webSearch');
  assert.equal(decideSync(router, request({ tools: [fn('Bash'), fn('WebFetch')] })).rule, 'default');
  const bash = { kind: 'server' as const, type: 'bash_20250124', name: 'bash', raw: {} };
  assert.equal(decideSync(router, request({ tools: [bash] })).rule, 'default');
});

test('web search wins over thinking and images', async () => {
  const router = await buildRouter(routingConfig());
  const req = request({ tools: [webSearchServerTool], reasoning: { mode: 'adaptive' }, messages: [{ role: 'user', content: [pngImage] }] });
  assert.equal(decideSync(router, req).rule, 'webSearch');
});

test('enabled thinking routes to think, adaptive only at a high effort, disabled does not', async () => {
  const router = await buildRouter(routingConfig());
  assert.equal(decideSync(router, request({ reasoning: { mode: 'enabled', budgetTokens: 1024 } })).rule, 'think');
  assert.equal(decideSync(router, request({ reasoning: { mode: 'adaptive' } })).rule, 'think');
  assert.equal(decideSync(router, request({ reasoning: { mode: 'adaptive', effort: 'high' } })).rule, 'think');
  assert.equal(decideSync(router, request({ reasoning: { mode: 'adaptive', effort: 'max' } })).rule, 'think');
  // Claude Code's every request: adaptive at effort medium (or low) is everyday work.
  assert.equal(decideSync(router, request({ reasoning: { mode: 'adaptive', effort: 'medium' } })).rule, 'default');
  assert.equal(decideSync(router, request({ reasoning: { mode: 'adaptive', effort: 'low' } })).rule, 'default');
  assert.equal(decideSync(router, request({ reasoning: { mode: 'disabled' } })).rule, 'default');
  // OpenAI's reasoning_effort: low and up want a thinking model, minimal does not.
  assert.equal(decideSync(router, request({ reasoning: { mode: 'enabled', effort: 'low' } })).rule, 'think');
  assert.equal(decideSync(router, request({ reasoning: { mode: 'enabled', effort: 'minimal' } })).rule, 'default');
});

test('thinking wins over images', async () => {
  const router = await buildRouter(routingConfig());
  const req = request({ reasoning: { mode: 'enabled' }, messages: [{ role: 'user', content: [pngImage] }] });
  assert.equal(decideSync(router, req).rule, 'think');
});

test('an image in the last user message routes to image, also inside a tool result', async () => {
  const router = await buildRouter(routingConfig());
  assert.equal(decideSync(router, request({ messages: [{ role: 'user', content: [{ type: 'text', text: 'look' }, pngImage] }] })).rule, 'image');
  const screenshot = request({
    messages: [
      userText('take a screenshot'),
      { role: 'assistant', content: [{ type: 'tool_call', id: 't1', name: 'Screenshot', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', toolCallId: 't1', content: [pngImage] }] },
    ],
  });
  assert.equal(decideSync(router, screenshot).rule, 'image');
});

test('an image in an earlier user message does not route to image', async () => {
  const router = await buildRouter(routingConfig());
  const req = request({
    messages: [{ role: 'user', content: [pngImage] }, { role: 'assistant', content: [{ type: 'text', text: 'a cat' }] }, userText('thanks')],
  });
  assert.equal(decideSync(router, req).rule, 'default');
});

test('anything else routes to default', async () => {
  const router = await buildRouter(routingConfig());
  const decision = decideSync(router, request());
  assert.equal(decision.rule, 'default');
  assert.equal(decision.modelName, 'main');
  assert.equal(decision.deployments.length, 2);
});

test('scenarios whose route is not configured are skipped', async () => {
  const config = configFromObject({
    providers: [{ name: 'up', protocol: 'openai', baseUrl: 'http://127.0.0.1:9/v1' }],
    models: [{ name: 'only', deployments: [{ provider: 'up', model: 'x' }] }],
    routes: { default: 'only', longContextThreshold: 10 },
  });
  const router = await buildRouter(config);
  const req = request({
    model: 'claude-haiku-4-5',
    tools: [webSearchServerTool],
    reasoning: { mode: 'enabled' },
    messages: [{ role: 'user', content: [{ type: 'text', text: longText }, pngImage] }],
  });
  assert.equal(decideSync(router, req).rule, 'default');
});

test('a route given as provider,model routes to that provider', async () => {
  const router = await buildRouter(routingConfig({ think: 'claude,claude-opus-4-1' }));
  const decision = decideSync(router, request({ reasoning: { mode: 'enabled' } }));
  assert.equal(decision.rule, 'think');
  assert.equal(decision.modelName, 'claude,claude-opus-4-1');
  assert.equal(decision.deployments[0]?.id, 'claude/claude-opus-4-1');
});

test('a route given as an alias resolves to the model', async () => {
  const router = await buildRouter(routingConfig({ image: 'primary' }));
  const decision = decideSync(router, request({ messages: [{ role: 'user', content: [pngImage] }] }));
  assert.equal(decision.rule, 'image');
  assert.equal(decision.modelName, 'main');
});

test('models() lists configured names then aliases', async () => {
  const router = await buildRouter(routingConfig());
  assert.deepEqual(router.models(), ['main', 'bg', 'thinker', 'long', 'search', 'vision', 'sub', 'picked', 'primary']);
});

test('decideByName settles configured names and provider,model without the request, and nothing else', async () => {
  const router = await buildRouter(routingConfig({ background: 'main' }));
  assert.equal(router.decideByName('main')?.rule, 'model');
  assert.equal(router.decideByName('claude,some-model')?.rule, 'explicit');
  assert.equal(router.decideByName('claude,some-model')?.deployments[0]?.model, 'some-model');
  assert.equal(router.decideByName('claude-haiku-4-5'), undefined);
});
