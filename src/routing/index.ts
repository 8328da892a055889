/**
 * Model resolution and scenario routing (ARCHITECTURE.md, "route"). A Router
 * is immutable and built once per config version; a reload builds a new one
 * and swaps it, so `decide` takes no lock and allocates nothing in the common
 * cases (a configured name, a scenario route: shared frozen decisions).
 *
 * Rules, first match wins:
 *  1. `provider,model`            → that provider directly ('explicit')
 *  2. a configured name or alias  → that model ('model')
 *  3. the custom router module    → its answer ('custom')
 *  4. a subagent tag in the prompt → the tagged model ('subagent')
 *  5. input tokens > threshold    → routes.longContext
 *  6. model matches backgroundPattern → routes.background
 *  7. a web search tool           → routes.webSearch
 *  8. thinking enabled/adaptive   → routes.think
 *  9. an image in the last user message → routes.image
 * 10. routes.default
 * A scenario whose route is not configured is skipped.
 *
 * @example
 * const router = await buildRouter(config);
 * const decision = await router.decide(req); // { rule: 'think', modelName: 'opus', deployments: [...] }
 */
import type { Config } from '../config/index.ts';
import type { ChatRequest } from '../model/types.ts';
import type { CustomRouter, CustomRouterContext } from './custom.ts';
import { loadCustomRouter } from './custom.ts';
import { hasWebSearchTool, lastUserMessageHasImage, subagentModel, wantsThinking } from './rules.ts';
import type { RouteDecision, RouteRule } from './table.ts';
import { RoutingTable } from './table.ts';
import { countTokens, exceedsTokens, loadTokenizer } from './tokens.ts';

export type { CustomRouter, CustomRouterContext } from './custom.ts';
export type { Deployment, RouteDecision, RouteRule } from './table.ts';
export { countTextTokens, countTokens, estimateUpperBoundBytes, isTokenizerLoaded, loadTokenizer } from './tokens.ts';

export interface Router {
  /** Synchronous unless a custom router module answers with a promise. */
  decide(req: ChatRequest, rawModel?: string, requestId?: string): Promise<RouteDecision> | RouteDecision;
  /**
   * The decision when the model name alone settles it (`provider,model` or a
   * configured name or alias), else undefined. Lets passthrough traffic skip
   * decoding the request body.
   */
  decideByName(model: string): RouteDecision | undefined;
  /** Configured model names, then aliases (what /v1/models lists). */
  models(): readonly string[];
}

export interface RouterOptions {
  /**
   * Called when the custom router throws, rejects, or returns something that
   * is not a configured model; the request then falls through to the
   * built-in rules. The gateway logs it.
   */
  /** A custom router that threw or answered nonsense; `requestId` of the request it was deciding, when known. */
  onCustomRouterError?: (error: unknown, requestId?: string) => void;
  /**
   * Load the tokenizer now when routes.longContext is configured. Loading is
   * synchronous and takes about a second: better at start than stalling the
   * event loop on the first long request. Off by default (tests, CLI tools).
   */
  preloadTokenizer?: boolean;
}

/** Dynamic names (custom router results, subagent tags) resolved so far; bounded. */
const MAX_CACHED_REFS = 1024;

function decision(rule: RouteRule, modelName: string, deployments: RouteDecision['deployments']): RouteDecision {
  return Object.freeze({ rule, modelName, deployments });
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}

class ScenarioRouter implements Router {
  readonly #config: Config;
  readonly #table: RoutingTable;
  readonly #custom: CustomRouter | undefined;
  readonly #onCustomError: (error: unknown, requestId?: string) => void;
  readonly #byName = new Map<string, RouteDecision>();
  readonly #dynamic = new Map<string, RouteDecision | null>();
  readonly #background: RouteDecision | undefined;
  readonly #think: RouteDecision | undefined;
  readonly #longContext: RouteDecision | undefined;
  readonly #webSearch: RouteDecision | undefined;
  readonly #image: RouteDecision | undefined;
  readonly #default: RouteDecision;
  readonly #threshold: number;
  readonly #pattern: RegExp;

  constructor(config: Config, table: RoutingTable, custom: CustomRouter | undefined, options: RouterOptions) {
    this.#config = config;
    this.#table = table;
    this.#custom = custom;
    this.#onCustomError = options.onCustomRouterError ?? (() => {});
    for (const name of table.names) {
      const target = table.model(name);
      if (target !== undefined) this.#byName.set(name, decision('model', target.modelName, target.deployments));
    }
    const routes = config.routes;
    this.#default = this.#route('default', routes.default) as RouteDecision;
    this.#background = this.#route('background', routes.background);
    this.#think = this.#route('think', routes.think);
    this.#longContext = this.#route('longContext', routes.longContext);
    this.#webSearch = this.#route('webSearch', routes.webSearch);
    this.#image = this.#route('image', routes.image);
    this.#threshold = routes.longContextThreshold;
    // Case-insensitive: "Haiku" in a model name is still the background model.
    this.#pattern = new RegExp(routes.backgroundPattern, 'i');
  }

  #route(rule: RouteRule, ref: string | undefined): RouteDecision | undefined {
    if (ref === undefined) return undefined;
    const target = this.#table.resolve(ref);
    // Config validation rejects this; only a hand-built Config gets here.
    if (target === undefined) throw new Error(`routes.${rule}: unknown model "${ref}"`);
    return decision(rule, target.modelName, target.deployments);
  }

  models(): readonly string[] {
    return this.#table.names;
  }

  decideByName(model: string): RouteDecision | undefined {
    const comma = model.indexOf(',');
    if (comma !== -1) {
      const target = this.#table.explicit(model, comma);
      return { rule: 'explicit', modelName: target.modelName, deployments: target.deployments };
    }
    return this.#byName.get(model);
  }

  /** `requestId` only names the request in a custom router's error. */
  decide(req: ChatRequest, rawModel?: string, requestId?: string): Promise<RouteDecision> | RouteDecision {
    const model = rawModel ?? req.model;
    const named = this.decideByName(model);
    if (named !== undefined) return named;
    return this.#custom === undefined ? this.#scenario(req, model) : this.#runCustom(this.#custom, req, model, requestId);
  }

  #runCustom(custom: CustomRouter, req: ChatRequest, model: string, requestId: string | undefined): Promise<RouteDecision> | RouteDecision {
    let tokens: number | undefined;
    const ctx: CustomRouterContext = { config: this.#config, model, tokenCount: () => (tokens ??= countTokens(req)) };
    let answer: unknown;
    try {
      answer = custom(req, ctx);
    } catch (error) {
      this.#onCustomError(error, requestId);
      return this.#scenario(req, model);
    }
    if (!isPromiseLike(answer)) return this.#afterCustom(answer, req, model, requestId);
    return Promise.resolve(answer).then(
      (value) => this.#afterCustom(value, req, model, requestId),
      (error: unknown) => {
        this.#onCustomError(error, requestId);
        return this.#scenario(req, model);
      },
    );
  }

  #afterCustom(answer: unknown, req: ChatRequest, model: string, requestId: string | undefined): RouteDecision {
    if (answer === undefined || answer === null || answer === '') return this.#scenario(req, model);
    if (typeof answer !== 'string') {
      this.#onCustomError(new TypeError(`custom router returned ${typeof answer}; expected a model name, "provider,model" or undefined`), requestId);
      return this.#scenario(req, model);
    }
    const found = this.#dynamicDecision('custom', answer);
    if (found !== undefined) return found;
    this.#onCustomError(new Error(`custom router returned "${answer}", which is neither a configured model nor "provider,model" with a configured provider`), requestId);
    return this.#scenario(req, model);
  }

  #dynamicDecision(rule: 'custom' | 'subagent', ref: string): RouteDecision | undefined {
    const key = `${rule}\u0000${ref}`;
    const cached = this.#dynamic.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const target = this.#table.resolve(ref);
    const found = target === undefined ? null : decision(rule, target.modelName, target.deployments);
    // Names can come from client input (subagent tags): stop caching rather than grow.
    if (this.#dynamic.size < MAX_CACHED_REFS) this.#dynamic.set(key, found);
    return found ?? undefined;
  }

  #scenario(req: ChatRequest, model: string): RouteDecision {
    const subagent = subagentModel(req);
    if (subagent !== undefined) {
      const found = this.#dynamicDecision('subagent', subagent);
      if (found !== undefined) return found;
    }
    if (this.#longContext !== undefined && exceedsTokens(req, this.#threshold)) return this.#longContext;
    if (this.#background !== undefined && this.#pattern.test(model)) return this.#background;
    if (this.#webSearch !== undefined && hasWebSearchTool(req)) return this.#webSearch;
    if (this.#think !== undefined && wantsThinking(req)) return this.#think;
    if (this.#image !== undefined && lastUserMessageHasImage(req)) return this.#image;
    return this.#default;
  }
}

/** Builds the router for one config version; imports the custom router module (once) if configured. */
export async function buildRouter(config: Config, options: RouterOptions = {}): Promise<Router> {
  const table = new RoutingTable(config);
  const custom = config.routes.custom === undefined ? undefined : await loadCustomRouter(config.routes.custom);
  if (options.preloadTokenizer === true && config.routes.longContext !== undefined) loadTokenizer();
  return new ScenarioRouter(config, table, custom, options);
}
