/**
 * Config section for the usage ledger (issue 4): `usage`. Owned by the ledger
 * work; schema.ts only mounts it.
 */
import { z } from 'zod';

export const usageSchema = z.strictObject({});

export const usageKnownKeys: Readonly<Record<string, readonly string[]>> = {
  usage: Object.keys(usageSchema.shape),
};
