/**
 * Config sections for limits, budgets and prices (issue 4): `limits`, `pricing`.
 * Owned by the limits work; schema.ts only mounts them.
 */
import { z } from 'zod';

export const limitsSchema = z.strictObject({});

export const pricingSchema = z.strictObject({});

export const limitsKnownKeys: Readonly<Record<string, readonly string[]>> = {
  limits: Object.keys(limitsSchema.shape),
  pricing: Object.keys(pricingSchema.shape),
};
