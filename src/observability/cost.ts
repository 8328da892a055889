/**
 * What a finished request cost, for its log line and the cost counter: the
 * price table of the config serving (src/usage/pricing.ts), built once per
 * config snapshot, so a reload's new prices apply from its first request.
 */
import type { Config } from '../config/index.ts';
import type { RequestSummary } from '../pipeline/chat.ts';
import { priceTableFromConfig, pricedDeployment, type PriceTable } from '../usage/pricing.ts';

const tables = new WeakMap<Config, PriceTable>();

function tableFor(config: Config): PriceTable {
  let table = tables.get(config);
  if (table === undefined) tables.set(config, (table = priceTableFromConfig(config)));
  return table;
}

/**
 * USD for the request's usage on the deployment that answered; undefined without
 * usage or a price. Call once the request has finished: the answer is kept on the
 * summary, so the log line, metrics, ledger, limits and dashboard work it out once.
 */
export function requestCost(config: Config, summary: RequestSummary, requestedModel: unknown): number | undefined {
  if (summary.cost !== undefined) return summary.cost ?? undefined;
  const { usage, deployment } = summary;
  if (usage === undefined || deployment === undefined) return undefined;
  const table = tableFor(config);
  const id = pricedDeployment(deployment, typeof requestedModel === 'string' ? requestedModel : undefined);
  const cost = table.priceOf(id) === undefined ? undefined : table.costOf(usage, id);
  summary.cost = cost ?? null;
  return cost;
}
