/**
 * Client authentication, the first extension in the hook order (issue 4).
 *
 * Chat requests (`admit`): an API key (`x-api-key` or `Authorization: Bearer`)
 * or a JWT → `call.principal`; scopes (models, route rules) are checked once
 * routing has decided (`routed`). `/v1/models` (and `/v1/models/{id}`) and
 * `/v1/messages/count_tokens` need the same credential; `/admin/*` needs an
 * admin key (admin-scope.ts).
 *
 * When is authentication required? `auth.mode`:
 *  - `auto` (default): bound to loopback, the gateway runs open (one person, no
 *    keys to manage) until the store holds an active key or a JWT source is
 *    configured. Revoking every key does not open it again: only `mode: open`
 *    does. Bound to any other address it is always required, and the
 *    gateway refuses to start with no way to authenticate unless `auth.allowOpen`
 *    (`start --allow-open`) says to run open there too.
 *  - `required`: always required.
 *  - `open`: never (off loopback only with `auth.allowOpen: true`).
 * Mode and JWT settings are read at start; admin keys on every request (reload applies them).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ChatCall } from '../pipeline/chat.ts';
import type { GatewayExtension } from '../pipeline/hooks.ts';
import type { RouteDecision } from '../routing/index.ts';
import { presentedCredential } from '../server/admin-auth.ts';
import { surfaceForPath } from '../server/app.ts';
import { toGatewayError, writeError } from '../server/error-shapes.ts';
import type { ExtensionContext } from '../server/gateway.ts';
import { collectOpenApi } from '../server/openapi.ts';
import { registerAdminApi } from './admin-api.ts';
import { makeAdminGuard } from './admin-scope.ts';
import { AuthRefused, Authenticator } from './authenticator.ts';
import { parseInvalidation, startInvalidationBus, type Invalidation, type InvalidationBus } from './invalidation.ts';
import { resolveRedisUrl } from '../store/redis.ts';
import { OPEN_PRINCIPAL, type Principal } from './principal.ts';
import { TenancyRepository } from './repository.ts';
import { rememberCaller, scopeRefusal } from './scopes.ts';

/** How often, at most, `auto` mode on loopback re-counts active keys while it runs open. */
const KEY_COUNT_MAX_AGE_MS = 1000;
/** Cluster broadcast topic of key and tenant changes (the IPC twin of the Redis channel). */
const INVALIDATION_TOPIC = 'auth:invalidate';

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::ffff:127.0.0.1';
}

/** Paths outside the chat pipeline that need a client credential too. */
const CLIENT_PATHS = new Set(['/v1/models', '/v1/messages/count_tokens']);

export interface AuthExtensionOptions {
  /** Environment for REDIS_URL; defaults to process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export function authExtension(options: AuthExtensionOptions = {}) {
  return (context: ExtensionContext) => createAuthExtension(context, options);
}

export async function createAuthExtension(context: ExtensionContext, options: AuthExtensionOptions = {}): Promise<GatewayExtension> {
  const { config, logger, holder } = context;
  const env = options.env ?? process.env;
  const { mode, allowOpen, jwt } = config.auth;
  const loopback = isLoopback(context.host);
  // Off loopback, running open takes an explicit `auth.allowOpen` (or `start --allow-open`).
  const mayRunOpen = loopback || allowOpen;
  if (mode === 'open' && !loopback && !allowOpen) {
    throw new Error(`auth.mode is open but the gateway binds ${context.host}, not loopback: set auth.allowOpen: true to serve without authentication anyway.`);
  }
  const repo = new TenancyRepository(await context.store());
  const authenticator = new Authenticator({ repo, cacheTtlMs: config.auth.cacheTtlMs, ...(jwt === undefined ? {} : { jwt }) });

  // `auto` on loopback: open while the store holds no key at all. The count is
  // refreshed at most once a second, and at once when a change is announced.
  let storedKeys = mode === 'auto' ? await repo.countKeys() : 0;
  let countedAt = Date.now();
  let counting: Promise<void> | undefined;
  const recount = (): Promise<void> =>
    (counting ??= repo
      .countKeys()
      .then((n) => {
        // The moment a gateway that served everyone starts asking for keys deserves a line.
        if (storedKeys === 0 && n > 0 && mayRunOpen && jwt === undefined) {
          logger.warn({ keys: n }, 'Authentication is ON: the store now holds an API key, so every client request needs one.');
        }
        storedKeys = n;
        countedAt = Date.now();
      })
      .catch((err: unknown) => logger.error({ err }, 'auth: counting active keys failed'))
      .finally(() => (counting = undefined)));

  /** Synchronous unless the key count is stale and must be read again. */
  const runsOpen = (): boolean | Promise<boolean> => {
    if (mode === 'open') return true;
    if (mode === 'required' || !mayRunOpen || jwt !== undefined) return false;
    if (storedKeys === 0 && Date.now() - countedAt > KEY_COUNT_MAX_AGE_MS) return recount().then(() => storedKeys === 0);
    return storedKeys === 0;
  };

  if (mode === 'auto' && !mayRunOpen && storedKeys === 0 && jwt === undefined) {
    throw new Error(
      `The gateway binds ${context.host}, not loopback, and has no way to authenticate clients: create a key ` +
        '(switchyard tenants create NAME; switchyard keys create --tenant NAME), configure auth.jwt, ' +
        'or set auth.allowOpen: true (start --allow-open) to serve without authentication until a key exists.',
    );
  }
  const open = mode === 'open' || (mode === 'auto' && mayRunOpen && storedKeys === 0 && jwt === undefined);
  if (open) {
    logger.warn(
      { auth: mode, host: context.host },
      mode === 'open'
        ? 'Authentication is OFF (auth.mode: open): every client is served as the local user.'
        : `Authentication is OFF: bound to ${loopback ? 'loopback' : `${context.host} with auth.allowOpen`} with no API key and no JWT configured; every client is served as the local user. ` +
            'It turns on by itself once a key exists (switchyard keys create --tenant NAME).',
    );
  } else {
    logger.info({ auth: mode, keys: mode === 'auto' ? storedKeys : undefined, jwt: jwt !== undefined }, 'authentication required for every client request');
  }

  // Cross-instance invalidation when Redis is configured.
  const redisUrl = resolveRedisUrl(config.redis.url, env);
  const apply = (change: Invalidation): void => {
    authenticator.invalidate(change);
    if (mode === 'auto') void recount();
  };
  const bus: InvalidationBus | undefined = redisUrl === undefined ? undefined : await startInvalidationBus(redisUrl, logger, apply);
  // Without Redis, the other workers of this cluster (if any) hear of a change over IPC.
  const siblings = bus === undefined ? context.cluster : undefined;
  siblings?.onBroadcast(INVALIDATION_TOPIC, (message) => {
    const change = parseInvalidation(message);
    if (change !== undefined) apply(change);
  });
  const changed = async (change: Invalidation): Promise<void> => {
    apply(change);
    siblings?.broadcast(INVALIDATION_TOPIC, JSON.stringify(change));
    await bus?.publish(change);
  };

  // SWITCHYARD_ADMIN_KEY is already in here (config/load.ts); read per request so a reload applies.
  const adminKeys = (): readonly string[] => holder.current.config.admin.apiKeys;
  const guardAdmin = makeAdminGuard(adminKeys, authenticator);

  /**
   * The caller of a client request, or a thrown 401. Synchronous on the hot
   * path (a cached key, or running open); a promise when the store must answer.
   */
  function principalFor(headers: ChatCall['headers']): Principal | Promise<Principal> {
    const open = runsOpen();
    if (open instanceof Promise) return open.then((isOpen) => resolvePrincipal(headers, isOpen));
    return resolvePrincipal(headers, open);
  }

  function resolvePrincipal(headers: ChatCall['headers'], open: boolean): Principal | Promise<Principal> {
    const credential = presentedCredential(headers);
    if (open) {
      // Open, yet a valid key still names its tenant (its limits and usage apply); anything else is ignored.
      // Only something shaped like a Switchyard key is looked up: clients such as
      // Claude Code send a placeholder token, and a failed lookup per request is costly.
      if (credential === undefined || mode === 'open' || !credential.startsWith('swy_')) return OPEN_PRINCIPAL;
      try {
        const cached = authenticator.authenticateCached(credential);
        if (cached !== undefined) return cached.principal;
      } catch {
        return OPEN_PRINCIPAL;
      }
      return authenticator.authenticate(credential).then(
        (found) => found.principal,
        () => OPEN_PRINCIPAL,
      );
    }
    if (credential === undefined) {
      throw new AuthRefused('no credential', 'Authentication required: send an API key as x-api-key or Authorization: Bearer.');
    }
    return authenticator.authenticateCached(credential)?.principal ?? authenticator.authenticate(credential).then((found) => found.principal);
  }

  function refuse(request: FastifyRequest, reply: FastifyReply, err: unknown): void {
    const error = toGatewayError(err);
    if (error.code === 'SWY_ERR_INTERNAL') logger.error({ err, requestId: request.id }, 'auth: lookup failed');
    else logger.info({ requestId: request.id, path: request.url.split('?')[0], reason: err instanceof AuthRefused ? err.reason : error.code }, 'auth: request refused');
    reply.hijack();
    writeError(reply.raw, surfaceForPath(request.url, request.headers), error, request.id);
  }

  return {
    name: 'auth',
    hooks: {
      admit(call: ChatCall): void | Promise<void> {
        const refused = (err: unknown): never => {
          if (err instanceof AuthRefused) logger.info({ requestId: call.requestId, reason: err.reason }, 'auth: request refused');
          throw err;
        };
        let found: Principal | Promise<Principal>;
        try {
          found = principalFor(call.headers);
        } catch (err) {
          return refused(err);
        }
        if (!(found instanceof Promise)) {
          call.principal = found;
          return;
        }
        return found.then((principal) => {
          call.principal = principal;
        }, refused);
      },
      routed(call: ChatCall, decision: RouteDecision): void {
        const principal = call.principal;
        if (principal === undefined) return;
        const refused = scopeRefusal(principal, decision);
        if (refused !== undefined) throw refused;
      },
    },
    routes(app) {
      const check = async (request: FastifyRequest, reply: FastifyReply, path: string): Promise<void> => {
        try {
          if (path.startsWith('/admin/')) await guardAdmin(request);
          // count_tokens routes too: its handler checks the caller's scopes (src/tenancy/scopes.ts).
          else rememberCaller(request.raw, await principalFor(request.headers));
        } catch (err) {
          refuse(request, reply, err);
        }
      };
      // Callback style: the chat routes (authenticated in their admit hook) and
      // everything else pass through without a promise per request.
      app.addHook('onRequest', (request, reply, done) => {
        const url = request.url;
        const q = url.indexOf('?');
        const path = q === -1 ? url : url.slice(0, q);
        if (!path.startsWith('/admin/') && !CLIENT_PATHS.has(path) && !path.startsWith('/v1/models/')) return done();
        void check(request, reply, path).then(() => done());
      });
      const openapi = collectOpenApi(app, { title: 'Switchyard admin API', version: '1' });
      app.get('/openapi.json', async () => openapi());
      registerAdminApi(app, {
        repo,
        state: () => holder.current,
        changed,
        logger,
        ...(context.reloadFromSource === undefined ? {} : { reload: context.reloadFromSource }),
      });
    },
    async close(): Promise<void> {
      await bus?.close();
    },
  };
}

/** Exact names, or a trailing `*` for a prefix (`claude-*`). */

