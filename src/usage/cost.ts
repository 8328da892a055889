/**
 * What the ledger charges for a call: its usage at the price of the deployment
 * that answered. The one place the ledger meets pricing (src/usage/pricing.ts,
 * owned by the limits work); rebuilt on every config reload.
 */
import type { Config } from '../config/index.ts';
import type { CostFn } from './event.ts';

/** Until pricing lands on main every event is recorded at cost 0. */
export function costFunction(_config: Config): CostFn {
  return () => 0;
}
