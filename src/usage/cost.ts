/**
 * What the ledger charges for a call: its usage at the price of the deployment
 * that answered (src/usage/pricing.ts: config prices, then deployment prices,
 * then the built-in defaults, then the fallback; 0 when nothing prices it).
 * Built from one config snapshot; the ledger rebuilds it on every reload.
 */
import type { Config } from '../config/index.ts';
import type { CostFn } from './event.ts';
import { pricedDeployment, priceTableFromConfig } from './pricing.ts';

export function costFunction(config: Config): CostFn {
  const prices = priceTableFromConfig(config);
  return (call) => {
    const { usage, deployment } = call.summary;
    if (usage === undefined || deployment === undefined) return 0;
    const requested = typeof call.body.model === 'string' ? call.body.model : undefined;
    return prices.costOf(usage, pricedDeployment(deployment, requested));
  };
}
