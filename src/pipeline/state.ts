/**
 * One immutable snapshot of everything a request needs: config, routing table,
 * prepared providers. A reload builds a new snapshot and swaps one reference,
 * so requests never take a lock and never see half a config.
 */
import type { Config } from '../config/index.ts';
import { prepareProvider, type PreparedProvider, type ProviderSpec } from '../providers/index.ts';
import { moduleLogger, type Logger } from '../observability/logger.ts';
import { Resilience } from '../resilience/index.ts';
import { buildRouter, type Router } from '../routing/index.ts';

export interface GatewayState {
  readonly version: number;
  readonly config: Config;
  readonly router: Router;
  readonly providers: ReadonlyMap<string, PreparedProvider>;
  /** Model groups with their strategies, and deployment health (shared across versions). */
  readonly resilience: Resilience;
}

export async function buildState(config: Config, version: number, logger: Logger): Promise<GatewayState> {
  const providers = new Map<string, PreparedProvider>();
  for (const spec of config.providers) providers.set(spec.name, prepareProvider(spec as ProviderSpec));
  const routingLog = moduleLogger(logger, 'routing');
  const router = await buildRouter(config, {
    onCustomRouterError: (err, requestId) => routingLog.warn({ err, requestId }, 'the custom router failed; the built-in rules decided instead'),
    // Loading the BPE ranks takes about a second: pay it at start, not on a
    // request, when a long-context route will need it.
    preloadTokenizer: config.routes.longContext !== undefined,
  });
  const resilience = new Resilience(config, router);
  return Object.freeze({ version, config, router, providers, resilience });
}

/** Holds the current snapshot; `current` is read once at the start of each request. */
export class StateHolder {
  #current: GatewayState;
  constructor(initial: GatewayState) {
    this.#current = initial;
  }
  get current(): GatewayState {
    return this.#current;
  }
  /** Publishes `next`, which first takes over the health of deployments and the rests of pool keys that still exist. */
  swap(next: GatewayState): void {
    if (next !== this.#current) {
      next.resilience.adopt(this.#current.resilience);
      for (const [name, provider] of next.providers) {
        const previous = this.#current.providers.get(name)?.keyPool;
        if (previous !== undefined) provider.keyPool?.adopt(previous);
      }
    }
    this.#current = next;
  }
}
