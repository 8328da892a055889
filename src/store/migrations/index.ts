/**
 * Every migration the gateway's store knows, one file per migration
 * (`NNNN-name.ts`). Ids are global across areas: tenants and keys take 1–99,
 * the usage ledger 100–199, so areas never collide.
 */
import type { Migration } from '../migrate.ts';
import { tenantsAndKeys } from './0001-tenants-and-keys.ts';
import { usageEvents } from './0100-usage-events.ts';

export const migrations: readonly Migration[] = [tenantsAndKeys, usageEvents];
