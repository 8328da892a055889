/**
 * What the ledger charges for a call: its usage at the price of the deployment
 * that answered (src/usage/pricing.ts: config prices, then deployment prices,
 * then the built-in defaults, then the fallback; 0 when nothing prices it).
 * Built from one config snapshot; the ledger rebuilds it on every reload.
 */
import type { Config } from '../config/index.ts';
import { requestCost } from '../observability/cost.ts';
import type { CostFn } from './event.ts';

export function costFunction(config: Config): CostFn {
  // Worked out once per request (the log line usually has by now); unpriced is free here.
  return (call) => requestCost(config, call.summary, call.body.model) ?? 0;
}
