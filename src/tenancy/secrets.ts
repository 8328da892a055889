/**
 * API key secrets. A key looks like `swy_Ab3dE6gH_<43 base64url chars>`: the
 * first 12 characters are its visible prefix (shown in listings, safe to log),
 * the rest is 256 bits of randomness. Only the SHA-256 of the whole key is
 * stored: with that much entropy a fast hash is as strong as a slow one, and
 * lookups by hash need no per-key salt.
 */
import { hash, randomBytes } from 'node:crypto';

const PREFIX_LENGTH = 'swy_'.length + 8;

export interface NewSecret {
  /** The key itself: shown once, never stored. */
  readonly key: string;
  readonly prefix: string;
  readonly hash: string;
}

export function newSecret(): NewSecret {
  const visible = randomBytes(6).toString('base64url');
  const key = `swy_${visible}_${randomBytes(32).toString('base64url')}`;
  return { key, prefix: key.slice(0, PREFIX_LENGTH), hash: hashKey(key) };
}

export function hashKey(key: string): string {
  // One-shot: no Hash object per request on the hot path.
  return hash('sha256', key, 'hex');
}

/** What a listing shows of a key: its prefix and an ellipsis. */
export function displayPrefix(prefix: string): string {
  return `${prefix}…`;
}

/** A short random id with a readable kind, e.g. `key_4fJ2kQ9xYb1m`. */
export function newId(kind: 'tn' | 'key'): string {
  return `${kind}_${randomBytes(9).toString('base64url')}`;
}
