/**
 * Config section for the usage ledger (issue 4): `usage`. Owned by the ledger
 * work; schema.ts only mounts it. README, "Usage and cost".
 */
import { z } from 'zod';
import { bool, int } from '../coerce.ts';


export const usageSchema = z.strictObject({
  /** Record every finished chat request as a usage event in the store. */
  enabled: bool().default(true),
  /** Events written per transaction at most. */
  batchSize: int(1, 50_000).default(1000),
  /** A partial batch is written after this long: what a crash may lose at most. */
  flushIntervalMs: int(10, 60_000).default(1000),
  /**
   * Events waiting to be written before new requests are held back (backpressure,
   * never dropping): a request waits up to `admitWaitMs` for room, then is refused as overloaded.
   */
  maxQueue: int(1, 10_000_000).default(100_000),
  admitWaitMs: int(0, 600_000).default(5000),
  /** Longest wait between retries of a failing write (the wait doubles from 100 ms up to this). */
  retryMaxMs: int(100, 600_000).default(5000),
  /** Delete events older than this many days, in small chunks, every hour; 0 keeps them forever. */
  retentionDays: int(0, 36_500).default(0),
  /** How long a usage query's answer is reused (admin API, dashboard). */
  queryCacheMs: int(0, 600_000).default(5000),
});

export type UsageConfig = z.infer<typeof usageSchema>;

export const usageKnownKeys: Readonly<Record<string, readonly string[]>> = {
  usage: Object.keys(usageSchema.shape),
};
