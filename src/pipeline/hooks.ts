/**
 * The seams where features outside the core pipeline plug in: authentication,
 * limits and budgets, the usage ledger, metrics, tracing, admin routes. Each is
 * a `GatewayExtension` built once at start (src/server/gateway.ts); its hooks
 * run on every chat request in the order the extensions were listed.
 *
 *   admit    → before routing; throw a GatewayError to refuse (written in the client's shape)
 *   routed   → after routing picked the model, before any upstream call; throw to refuse
 *   finished → once, after the response has closed (answered, failed, refused or abandoned): at the
 *              end of that turn of the event loop, with the other requests that closed in it
 *              (src/server/finishing.ts), and always before the extensions close
 */
import type { FastifyInstance } from 'fastify';
import type { RouteDecision } from '../routing/index.ts';
import type { ChatCall } from './chat.ts';
import type { GatewayState } from './state.ts';

/** How a chat request ended, as the client saw it. */
export interface RequestEnd {
  readonly status: number;
  readonly latencyMs: number;
  /** The client went away before the response was complete. */
  readonly clientAborted: boolean;
}

export interface ChatHooks {
  admit?(call: ChatCall): void | Promise<void>;
  routed?(call: ChatCall, decision: RouteDecision): void | Promise<void>;
  /** Must not throw and must not block: queue work, do not await it. */
  finished?(call: ChatCall, end: RequestEnd): void;
}

export interface GatewayExtension {
  readonly name: string;
  readonly hooks?: ChatHooks;
  /**
   * Adds routes (admin API, /metrics, /ui) before the server listens. Fastify
   * hooks added here do not run for the two chat routes, which are taken
   * before Fastify (src/server/chat-intake.ts): chat requests have `hooks`.
   */
  routes?(app: FastifyInstance): void;
  /** After a new config snapshot was swapped in. */
  reloaded?(state: GatewayState): void | Promise<void>;
  /** After the HTTP server has closed and requests in flight are done: flush and release. */
  close?(): Promise<void>;
}

/** The hooks of every extension, merged into one list per stage so a request skips stages nobody uses. */
export interface HookChain {
  readonly admit: ReadonlyArray<NonNullable<ChatHooks['admit']>>;
  readonly routed: ReadonlyArray<NonNullable<ChatHooks['routed']>>;
  readonly finished: ReadonlyArray<NonNullable<ChatHooks['finished']>>;
}

export const EMPTY_HOOKS: HookChain = Object.freeze({ admit: [], routed: [], finished: [] });

export function chainHooks(extensions: readonly GatewayExtension[]): HookChain {
  const admit: Array<NonNullable<ChatHooks['admit']>> = [];
  const routed: Array<NonNullable<ChatHooks['routed']>> = [];
  const finished: Array<NonNullable<ChatHooks['finished']>> = [];
  for (const { hooks } of extensions) {
    if (hooks?.admit) admit.push(hooks.admit.bind(hooks));
    if (hooks?.routed) routed.push(hooks.routed.bind(hooks));
    if (hooks?.finished) finished.push(hooks.finished.bind(hooks));
  }
  return Object.freeze({ admit: Object.freeze(admit), routed: Object.freeze(routed), finished: Object.freeze(finished) });
}
