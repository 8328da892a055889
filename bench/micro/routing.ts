/**
 * Routing: the decision the pipeline makes for every request
 * (src/pipeline/chat.ts: `decideByName(model) ?? decide(decode(), model)`),
 * with the router built from the Claude Code example config as the gateway
 * builds it (src/pipeline/state.ts).
 */
import { fileURLToPath } from 'node:url';
import { loadConfigFile } from '../../src/config/index.ts';
import { buildRouter, type RouteDecision, type Router } from '../../src/routing/index.ts';
import { decodeRequest } from '../../src/translate/index.ts';
import { claudeCodeRequest } from './fixtures.ts';
import type { MicroTask } from './task.ts';

const exampleConfig = fileURLToPath(new URL('../../examples/claude-code.yaml', import.meta.url));
// The example reads provider keys from the environment; any value will do, nothing is called.
const env = { ANTHROPIC_API_KEY: 'sk-bench', OPENROUTER_API_KEY: 'sk-bench', DEEPSEEK_API_KEY: 'sk-bench' };

function sync(decision: Promise<RouteDecision> | RouteDecision): RouteDecision {
  if (decision instanceof Promise) throw new Error('the router answered with a promise: the example config has no custom router');
  return decision;
}

function expectRule(id: string, decision: RouteDecision | undefined, rule: string): void {
  if (decision?.rule !== rule) throw new Error(`${id}: expected the ${rule} rule, got ${decision?.rule ?? 'no decision'}`);
}

/** The full decision, as the pipeline makes it for a body it has not decoded yet. */
function decideLikeThePipeline(router: Router, body: Record<string, unknown>): RouteDecision {
  const model = body.model as string;
  return router.decideByName(model) ?? sync(router.decide(decodeRequest('anthropic', body), model));
}

export async function routingTasks(): Promise<MicroTask[]> {
  const config = await loadConfigFile(exampleConfig, env);
  const router = await buildRouter(config, { preloadTokenizer: config.routes.longContext !== undefined });

  // Claude Code's own model names are not configured: the scenario rules decide.
  // At effort high: the recorded turn's effort (medium) is everyday work, on the default route.
  const thinking: Record<string, unknown> = { ...claudeCodeRequest(), output_config: { effort: 'high' } };
  const plain = { ...thinking };
  delete plain.thinking;
  delete plain.output_config;
  const haiku = { ...plain, model: 'claude-haiku-4-5-20251001' };
  const decodedThinking = decodeRequest('anthropic', thinking);
  const decodedPlain = decodeRequest('anthropic', plain);
  const decodedHaiku = decodeRequest('anthropic', haiku);

  const tasks: Array<MicroTask & { rule: string; once: () => RouteDecision | undefined }> = [
    {
      id: 'route.by-name',
      title: 'decideByName: a configured model name (passthrough skips decoding)',
      rule: 'model',
      once: () => router.decideByName('sonnet'),
      run: () => router.decideByName('sonnet'),
    },
    {
      id: 'route.explicit',
      title: 'decideByName: "provider,model"',
      rule: 'explicit',
      once: () => router.decideByName('deepseek,deepseek-chat'),
      run: () => router.decideByName('deepseek,deepseek-chat'),
    },
    {
      id: 'route.scenario.think',
      title: 'decide: Claude Code request with adaptive thinking at effort high (subagent, longContext, background, webSearch, think)',
      rule: 'think',
      once: () => sync(router.decide(decodedThinking, decodedThinking.model)),
      run: () => router.decide(decodedThinking, decodedThinking.model),
    },
    {
      id: 'route.scenario.default',
      title: 'decide: Claude Code request without thinking (every rule, then default)',
      rule: 'default',
      once: () => sync(router.decide(decodedPlain, decodedPlain.model)),
      run: () => router.decide(decodedPlain, decodedPlain.model),
    },
    {
      id: 'route.scenario.background',
      title: 'decide: Claude Code request for a haiku model (background)',
      rule: 'background',
      once: () => sync(router.decide(decodedHaiku, decodedHaiku.model)),
      run: () => router.decide(decodedHaiku, decodedHaiku.model),
    },
    {
      id: 'route.pipeline.think',
      title: 'decideByName miss + decode the 3 KB Claude Code body + decide (what chat.ts does)',
      rule: 'think',
      once: () => decideLikeThePipeline(router, thinking),
      run: () => decideLikeThePipeline(router, thinking),
    },
  ];
  for (const task of tasks) task.verify = () => expectRule(task.id, task.once(), task.rule);
  return tasks;
}
