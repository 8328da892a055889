/**
 * Deployment selection strategies (issue 3, "Choosing a deployment"): small
 * policies that order one model group's deployments for one request, and one
 * health policy composed on top that puts the deployments whose breaker lets a
 * request through first.
 *
 * A strategy returns indices into the group's deployment list. Strategies
 * with a fixed order (priority, cost) return one shared frozen array, so they
 * allocate nothing per request; the others allocate one small array.
 */
import type { StrategyName } from '../config/schema.ts';
import type { DeploymentHealth } from './health.ts';

export type { StrategyName } from '../config/schema.ts';
/** Returns a number in [0, 1); injectable so tests can seed it. */
export type Random = () => number;

export interface GroupSpec {
  /** Weights in config order (`weighted`). */
  readonly weights: readonly number[];
  /** Price per million tokens, input plus output, in config order (`cost`); 0 when not declared. */
  readonly costs: readonly number[];
}

/** Orders a group's deployments (indices, all of them) given their health. */
export type Strategy = (health: readonly DeploymentHealth[]) => readonly number[];

function identity(n: number): readonly number[] {
  return Object.freeze(Array.from({ length: n }, (_, i) => i));
}

/** Config order: ordered failover. */
export function priority(size: number): Strategy {
  const order = identity(size);
  return () => order;
}

/** Cheapest first; equal prices (and undeclared ones, counted as 0) keep config order. */
export function cheapest(spec: GroupSpec): Strategy {
  const order = Object.freeze(
    identity(spec.costs.length)
      .slice()
      .sort((a, b) => spec.costs[a]! - spec.costs[b]! || a - b),
  );
  return () => order;
}

/**
 * Weighted random order: each position is drawn by weight among the
 * deployments not yet placed (so the first choice follows the weights
 * exactly). Weight 0 is never drawn while a weighted one is left; those go
 * last in config order.
 */
export function weighted(spec: GroupSpec, random: Random): Strategy {
  const weights = spec.weights;
  const all = identity(weights.length);
  return () => {
    const order: number[] = [];
    const left = all.slice();
    let total = 0;
    let positive = 0;
    for (const w of weights) {
      if (w > 0) {
        total += w;
        positive++;
      }
    }
    for (; positive > 0; positive--) {
      let r = random() * total;
      let pick = -1;
      for (let k = 0; k < left.length; k++) {
        const w = weights[left[k]!]!;
        if (w <= 0) continue;
        // The last weighted one also catches floating-point leftovers of r.
        pick = k;
        if (r < w) break;
        r -= w;
      }
      const index = left[pick]!;
      order.push(index);
      total -= weights[index]!;
      left.splice(pick, 1);
    }
    for (const index of left) order.push(index);
    return order;
  };
}

/** Rotates the starting deployment on every request (per config version). */
export function roundRobin(size: number): Strategy {
  let next = 0;
  return () => {
    const start = next;
    next = (next + 1) % size;
    const order = new Array<number>(size);
    for (let k = 0; k < size; k++) order[k] = (start + k) % size;
    return order;
  };
}

/** Fewest requests in flight first; ties keep config order. */
export function leastInFlight(size: number): Strategy {
  const all = identity(size);
  return (health) => {
    const order = all.slice();
    return order.sort((a, b) => health[a]!.inFlight - health[b]!.inFlight || a - b);
  };
}

/** Expected wait: peak-EWMA latency scaled by the queue in front (Finagle's P2C + peak EWMA). */
function load(h: DeploymentHealth): number {
  return (h.latencyMs + 1) * (h.inFlight + 1);
}

/**
 * Power of two choices over peak-EWMA latency: two deployments drawn at
 * random, the less loaded one goes first, then the others by load. Random
 * pairs keep a slightly slower deployment in use (and measured) instead of
 * herding every request onto the one that looked fastest a moment ago.
 */
export function latency(size: number, random: Random): Strategy {
  const all = identity(size);
  return (health) => {
    const order = all.slice();
    const loads = order.map((i) => load(health[i]!));
    const a = Math.floor(random() * size);
    let b = Math.floor(random() * (size - 1));
    if (b >= a) b++;
    const first = loads[a]! <= loads[b]! ? a : b;
    order.sort((x, y) => (x === first ? -1 : y === first ? 1 : loads[x]! - loads[y]! || x - y));
    return order;
  };
}

export function createStrategy(name: StrategyName, spec: GroupSpec, random: Random = Math.random): Strategy {
  const size = spec.weights.length;
  if (size <= 1) return priority(size);
  switch (name) {
    case 'priority':
      return priority(size);
    case 'cost':
      return cheapest(spec);
    case 'weighted':
      return weighted(spec, random);
    case 'round-robin':
      return roundRobin(size);
    case 'least-in-flight':
      return leastInFlight(size);
    case 'latency':
      return latency(size, random);
  }
}

/**
 * The health policy: deployments whose breaker lets a request through now
 * (closed, or half-open with a probe slot free) first, in strategy order;
 * open ones are skipped. When every one is open they are all returned in
 * strategy order: trying is better than failing untried.
 */
export function healthFirst(order: readonly number[], health: readonly DeploymentHealth[], now: number): readonly number[] {
  let unavailable = 0;
  for (const i of order) if (!health[i]!.available(now)) unavailable++;
  if (unavailable === 0 || unavailable === order.length) return order;
  const out: number[] = [];
  for (const i of order) if (health[i]!.available(now)) out.push(i);
  return out;
}
