/**
 * Resilience state for one config version: the model groups with their
 * strategy, and the health of every deployment. Groups are immutable per
 * config version; health outlives it: `adopt` hands a new version the health
 * of every deployment (by id) that still exists, so a reload neither resets an
 * open breaker nor loses the in-flight counts of requests still running.
 *
 * @example
 * const resilience = buildResilience(config, router);
 * const group = resilience.group(decision);
 * for (const i of group.order()) { const h = group.health[i]; const ticket = h.acquire(); … }
 */
import type { Config } from '../config/index.ts';
import type { ModelConfig } from '../config/schema.ts';
import type { Deployment, RouteDecision, Router } from '../routing/index.ts';
import { defaultBreakerOptions, DeploymentHealth, monotonicClock, type BreakerOptions, type Clock } from './health.ts';
import { HedgePolicy } from './hedge.ts';
import { preferredIndex } from './sticky.ts';
import { createStrategy, healthFirst, priority, type Random, type Strategy } from './strategies.ts';

export { DeploymentHealth, DENIED, FORCED, NORMAL, PROBE, defaultBreakerOptions, monotonicClock } from './health.ts';
export type { BreakerOptions, BreakerState, Clock, HealthSnapshot, Ticket } from './health.ts';
export { createStrategy, healthFirst } from './strategies.ts';
export { HedgeBudget, HedgePolicy } from './hedge.ts';
export { LatencyDigest } from './latency.ts';
export type { Random, Strategy, StrategyName } from './strategies.ts';

/**
 * Deployments reached through `provider,model` come from clients, so their
 * number is unbounded: past this many tracked deployments the rest go untracked.
 */
const MAX_TRACKED = 4096;

export interface ResilienceOptions {
  clock?: Clock;
  random?: Random;
}

/** Deployment id → health; bounded. */
export class HealthRegistry {
  readonly #byId = new Map<string, DeploymentHealth>();
  readonly #clock: Clock;

  constructor(clock: Clock = monotonicClock) {
    this.#clock = clock;
  }

  get(id: string): DeploymentHealth | undefined {
    return this.#byId.get(id);
  }

  /** The health for `id`, created with `options` if new (first configured group wins). */
  track(id: string, options: BreakerOptions = defaultBreakerOptions): DeploymentHealth {
    let health = this.#byId.get(id);
    if (health !== undefined) return health;
    health = new DeploymentHealth(id, options, this.#clock);
    if (this.#byId.size < MAX_TRACKED) this.#byId.set(id, health);
    return health;
  }

  /** Takes over `previous`'s health objects for the ids this registry tracks, with this version's settings. */
  adopt(previous: HealthRegistry, options: ReadonlyMap<string, BreakerOptions>): void {
    for (const [id, old] of previous.#byId) {
      if (!this.#byId.has(id)) continue;
      old.configure(options.get(id) ?? defaultBreakerOptions);
      this.#byId.set(id, old);
    }
  }

  entries(): IterableIterator<[string, DeploymentHealth]> {
    return this.#byId.entries();
  }
}

/** One model's deployments, their health (same order) and its strategy. */
export class DeploymentGroup {
  readonly deployments: readonly Deployment[];
  /** Sticky routing is on: callers pass a conversation key to `order`. */
  readonly sticky: boolean;
  /** Hedging settings and budget; undefined when the group does not hedge (or has one deployment). */
  readonly hedge: HedgePolicy | undefined;
  #health: DeploymentHealth[];
  readonly #strategy: Strategy;
  readonly #clock: Clock;
  readonly #ids: readonly string[];

  constructor(
    deployments: readonly Deployment[],
    health: DeploymentHealth[],
    strategy: Strategy,
    clock: Clock,
    sticky = false,
    hedge?: HedgePolicy,
  ) {
    this.deployments = deployments;
    this.hedge = deployments.length > 1 ? hedge : undefined;
    this.#health = health;
    this.#strategy = strategy;
    this.#clock = clock;
    this.sticky = sticky && deployments.length > 1;
    this.#ids = deployments.map((d) => d.id);
  }

  get health(): readonly DeploymentHealth[] {
    return this.#health;
  }

  /**
   * Indices into `deployments` in the order to try them for one request.
   * With a conversation key (sticky groups), the conversation's preferred
   * deployment goes first while it is available; otherwise the strategy decides.
   */
  order(conversationKey?: string): readonly number[] {
    const order = this.#strategy(this.#health);
    // A group of one is returned as is: its breaker cannot send the request elsewhere.
    if (order.length <= 1) return order;
    const now = this.#clock();
    const healthy = healthFirst(order, this.#health, now);
    if (conversationKey === undefined) return healthy;
    const preferred = preferredIndex(conversationKey, this.#ids);
    if (healthy[0] === preferred || !this.#health[preferred]!.available(now)) return healthy;
    return [preferred, ...healthy.filter((i) => i !== preferred)];
  }

  rebind(registry: HealthRegistry): void {
    this.#health = this.#health.map((h) => registry.get(h.id) ?? h);
  }
}

export class Resilience {
  readonly registry: HealthRegistry;
  /** Configured model name → its group. */
  readonly #groups = new Map<string, DeploymentGroup>();
  /** `provider,model` targets built on demand; bounded. */
  readonly #single = new Map<string, DeploymentGroup>();
  /** The breaker settings each tracked deployment takes on reload. */
  readonly #options = new Map<string, BreakerOptions>();
  readonly #clock: Clock;

  constructor(config: Config, router: Router, options: ResilienceOptions = {}) {
    this.#clock = options.clock ?? monotonicClock;
    this.registry = new HealthRegistry(this.#clock);
    for (const model of config.models) {
      const deployments = router.decideByName(model.name)?.deployments;
      if (deployments === undefined) continue;
      const breaker = breakerOptions(model);
      const health = deployments.map((d) => {
        if (!this.#options.has(d.id)) this.#options.set(d.id, breaker);
        return this.registry.track(d.id, this.#options.get(d.id));
      });
      const spec = {
        weights: model.deployments.map((d) => d.weight),
        costs: model.deployments.map((d) => (d.inputCostPerMTok ?? 0) + (d.outputCostPerMTok ?? 0)),
      };
      this.#groups.set(
        model.name,
        new DeploymentGroup(
          deployments,
          health,
          createStrategy(model.strategy, spec, options.random),
          this.#clock,
          model.sticky,
          model.hedge === undefined ? undefined : new HedgePolicy(model.hedge),
        ),
      );
    }
  }

  /** The group to try for a routing decision. */
  group(decision: RouteDecision): DeploymentGroup {
    const found = this.#groups.get(decision.modelName);
    if (found !== undefined && found.deployments === decision.deployments) return found;
    const deployments = decision.deployments;
    const first = deployments[0];
    if (deployments.length === 1 && first !== undefined) {
      const cached = this.#single.get(first.id);
      if (cached !== undefined) return cached;
      const group = new DeploymentGroup(deployments, [this.registry.track(first.id)], priority(1), this.#clock);
      if (this.#single.size < MAX_TRACKED) this.#single.set(first.id, group);
      return group;
    }
    // Not a configured group (a hand-built decision): config order, tracked health.
    return new DeploymentGroup(deployments, deployments.map((d) => this.registry.track(d.id)), priority(deployments.length), this.#clock);
  }

  /** Carries health over from the version being replaced; call before this one serves. */
  adopt(previous: Resilience): void {
    this.registry.adopt(previous.registry, this.#options);
    for (const group of this.#groups.values()) group.rebind(this.registry);
  }
}

function breakerOptions(model: ModelConfig): BreakerOptions {
  const b = model.breaker;
  if (b === undefined) return defaultBreakerOptions;
  return Object.freeze({
    consecutiveFailures: b.consecutiveFailures ?? defaultBreakerOptions.consecutiveFailures,
    errorRate: b.errorRate ?? defaultBreakerOptions.errorRate,
    windowMs: b.windowMs ?? defaultBreakerOptions.windowMs,
    minRequests: b.minRequests ?? defaultBreakerOptions.minRequests,
    cooldownMs: b.cooldownMs ?? defaultBreakerOptions.cooldownMs,
    halfOpenProbes: b.halfOpenProbes ?? defaultBreakerOptions.halfOpenProbes,
  });
}

export function buildResilience(config: Config, router: Router, options?: ResilienceOptions): Resilience {
  return new Resilience(config, router, options);
}
