import { configFromObject } from '../../src/config/index.ts';
import type { Config } from '../../src/config/index.ts';
import type { ChatRequest, Message, Tool } from '../../src/model/types.ts';

export function request(overrides: Partial<ChatRequest> = {}): ChatRequest {
  return {
    model: 'claude-sonnet-4-5-20250929',
    system: [],
    messages: [{ role: 'user', content: [{ type: 'text', text: 'hello' }] }],
    stream: false,
    ...overrides,
  };
}

export function userText(text: string): Message {
  return { role: 'user', content: [{ type: 'text', text }] };
}

export const webSearchServerTool: Tool = {
  kind: 'server',
  type: 'web_search_20250305',
  name: 'web_search',
  raw: { type: 'web_search_20250305', name: 'web_search', max_uses: 5 },
};

export const pngImage = { type: 'image', source: { type: 'base64', mediaType: 'image/png', data: 'iVBORw0KGgo=' } } as const;

/** Two providers, a model per scenario, every route set. */
export function routingConfig(routes: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Config {
  const model = (name: string, provider = 'up', aliases: string[] = []) => ({
    name,
    aliases,
    deployments: [{ provider, model: `${name}-upstream` }],
  });
  return configFromObject(
    {
      providers: [
        { name: 'up', protocol: 'openai', baseUrl: 'http://127.0.0.1:9/v1' },
        { name: 'claude', protocol: 'anthropic', baseUrl: 'http://127.0.0.1:9' },
      ],
      models: [
        {
          name: 'main',
          aliases: ['primary'],
          deployments: [
            { provider: 'claude', model: 'claude-main', weight: 2 },
            { provider: 'up', model: 'main-upstream' },
          ],
        },
        model('bg'),
        model('thinker'),
        model('long'),
        model('search', 'claude'),
        model('vision'),
        model('sub'),
        model('picked'),
      ],
      routes: {
        default: 'main',
        background: 'bg',
        think: 'thinker',
        longContext: 'long',
        longContextThreshold: 5000,
        webSearch: 'search',
        image: 'vision',
        ...routes,
      },
      ...extra,
    },
    { env: {}, baseDir: new URL('../fixtures/routers/', import.meta.url).pathname },
  );
}
