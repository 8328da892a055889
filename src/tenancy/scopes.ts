/**
 * A key's scopes (the models and route rules it may use), checked once routing
 * has decided: by the chat pipeline's `routed` hook and by count_tokens, which
 * routes too. Requests outside the chat pipeline (count_tokens) leave their
 * caller here for the route handler to check.
 */
import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.ts';
import type { RouteDecision } from '../routing/index.ts';
import type { Principal } from './principal.ts';

const callers = new WeakMap<IncomingMessage, Principal>();

/** Remembers who sent a request the auth extension admitted outside the chat pipeline. */
export function rememberCaller(req: IncomingMessage, principal: Principal): void {
  callers.set(req, principal);
}

export function callerOf(req: IncomingMessage): Principal | undefined {
  return callers.get(req);
}

/** The 403 for a decision outside the principal's scopes, or undefined when it is allowed. */
export function scopeRefusal(principal: Principal, decision: RouteDecision): GatewayError | undefined {
  if (principal.models !== undefined && !allows(principal.models, decision.modelName)) {
    return new GatewayError('SWY_ERR_FORBIDDEN', `This key may not use model '${decision.modelName}'.`);
  }
  if (principal.routes !== undefined && !allows(principal.routes, decision.rule)) {
    return new GatewayError('SWY_ERR_FORBIDDEN', `This key may not use the '${decision.rule}' route.`);
  }
  return undefined;
}

function allows(allowed: readonly string[], name: string): boolean {
  return allowed.some((entry) => entry === name || entry === '*' || (entry.endsWith('*') && name.startsWith(entry.slice(0, -1))));
}
