/**
 * The admin dashboard (issue 5, "The admin web UI"): a page at `/ui` and the
 * JSON it polls, `/ui/api/snapshot` (live traffic, routes, deployments, recent
 * requests, usage) and `/ui/api/config` (the running config, secrets masked).
 * The page itself holds no data and loads without a key; it asks for the admin
 * key and sends it as `x-api-key` on every data call, which `requireAdmin`
 * checks against the current config's `admin.apiKeys`.
 *
 * Everything the page needs is served from here (no CDN, no framework): three
 * static files read once at start, sent with a strict Content-Security-Policy.
 */
import { readFile } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { GatewayExtension } from '../pipeline/hooks.ts';
import type { ExtensionContext } from '../server/gateway.ts';
import { requireAdmin } from '../server/admin-auth.ts';
import { requestCost } from '../observability/cost.ts';
import { TrafficRecorder, type CostFunction, type RecorderOptions } from './recorder.ts';
import { buildSnapshot, configView } from './snapshot.ts';

const ASSETS = new URL('./assets/', import.meta.url);

const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  // Small files, revalidated so an upgrade shows at once.
  'cache-control': 'no-cache',
};

interface Asset {
  readonly body: Buffer;
  readonly type: string;
}

async function loadAssets(): Promise<Map<string, Asset>> {
  const files: Array<[string, string, string]> = [
    ['/ui', 'index.html', 'text/html; charset=utf-8'],
    ['/ui/app.js', 'app.js', 'text/javascript; charset=utf-8'],
    ['/ui/app.css', 'app.css', 'text/css; charset=utf-8'],
  ];
  const assets = new Map<string, Asset>();
  for (const [path, file, type] of files) assets.set(path, { body: await readFile(new URL(file, ASSETS)), type });
  return assets;
}

export interface UiExtensionOptions {
  /** For tests: clock, window size, ring size. */
  recorder?: RecorderOptions;
}

/** The extension factory: undefined when `ui.enabled` is false. */
export async function uiExtension(context: ExtensionContext, options: UiExtensionOptions = {}): Promise<GatewayExtension | undefined> {
  if (!context.config.ui.enabled) return undefined;
  const { holder, limiter } = context;
  const assets = await loadAssets();
  // Prices follow the running config; worked out once per request for every part that needs them.
  const cost: CostFunction = (call) => requestCost(holder.current.config, call.summary, call.body.model);
  const recorder = new TrafficRecorder({ cost, ...options.recorder });
  const admin = requireAdmin(() => holder.current.config.admin.apiKeys);

  const sendAsset = (reply: FastifyReply, asset: Asset): void => {
    reply.headers(PAGE_HEADERS).type(asset.type).send(asset.body);
  };
  const sendJson = (reply: FastifyReply, body: unknown): void => {
    reply.headers({ 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }).type('application/json; charset=utf-8').send(JSON.stringify(body));
  };

  return {
    name: 'ui',
    hooks: {
      finished(call, end) {
        recorder.record(call, end);
      },
    },
    routes(app: FastifyInstance) {
      // A browser pointed at the gateway's own address lands on the dashboard; API clients get the usual 404.
      app.get('/', async (request, reply) => {
        if (request.headers.accept?.includes('text/html') === true) return reply.redirect('/ui', 302);
        return reply.callNotFound();
      });
      for (const [path, asset] of assets) {
        app.get(path, async (_request, reply) => sendAsset(reply, asset));
        if (path === '/ui') app.get('/ui/', async (_request, reply) => sendAsset(reply, asset));
      }
      app.get('/ui/api/snapshot', { onRequest: admin }, async (_request, reply) => {
        sendJson(reply, buildSnapshot({ state: holder.current, recorder, limiter: limiter?.stats(), now: Date.now() }));
      });
      app.get('/ui/api/config', { onRequest: admin }, async (_request, reply) => {
        const view = configView(holder.current);
        // Where it really listens: --host / --port (or port 0) override the file's server section.
        const address = app.server.address();
        if (address !== null && typeof address === 'object') view.config.server = { ...(view.config.server as object), host: context.host, port: address.port };
        sendJson(reply, view);
      });
    },
  };
}
