/**
 * Provider adapters: one per wire protocol. An adapter is data plus pure
 * functions, prepared once per config version so the hot path only reads it.
 */
import type { ChatRequest, ProtocolName } from '../model/types.ts';
import { KeyPool } from '../upstream/key-pool.ts';
import type { PoolSettings } from '../upstream/pools.ts';

/** What the gateway needs to know about one upstream account (a config `providers[]` entry). */
export interface ProviderSpec {
  readonly name: string;
  readonly protocol: ProtocolName;
  readonly baseUrl: string;
  readonly apiKey?: string | undefined;
  readonly apiKeys?: ReadonlyArray<string | { readonly key: string; readonly weight: number }> | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly preset?: string | undefined;
  readonly quirks?: Readonly<Record<string, unknown>> | undefined;
  readonly pool: PoolSettings;
  readonly defaultMaxTokens: number;
}

export interface PreparedProvider {
  readonly name: string;
  readonly protocol: ProtocolName;
  /** `scheme://host:port`, the pool key. */
  readonly origin: string;
  /** Path of the chat endpoint on that origin, e.g. `/v1/chat/completions`. */
  readonly chatPath: string;
  /** Path used to warm a connection at start. */
  readonly warmPath: string;
  readonly pool: PoolSettings;
  /** Static headers: authentication and the provider's own extras. */
  readonly staticHeaders: Readonly<Record<string, string>>;
  /** Headers copied from the client when it speaks the same protocol. */
  readonly forwardedClientHeaders: readonly string[];
  /** Several keys to rotate through, when configured (`apiKeys`); the auth header then comes from `authHeader`. */
  readonly keyPool: KeyPool | undefined;
  /** The authentication header for one key, in this protocol's style. */
  authHeader(key: string): readonly [string, string];
  /**
   * Builds the upstream body from the internal request (the translated path).
   * `maxTokensLimit`: the deployment's `maxTokens`, which nothing the encoder adds
   * (a thinking budget on top of the answer's room) may exceed.
   */
  encode(req: ChatRequest, upstreamModel: string, maxTokensLimit?: number): Record<string, unknown>;
}

/** Joins a base URL's path and an endpoint path without doubling slashes. */
export function joinPath(basePath: string, endpoint: string): string {
  const trimmed = basePath.endsWith('/') ? basePath.slice(0, -1) : basePath;
  return `${trimmed}${endpoint}`;
}

/** The key pool for a provider with `apiKeys`, or undefined. */
export function keyPoolFor(spec: ProviderSpec): KeyPool | undefined {
  if (spec.apiKeys === undefined || spec.apiKeys.length === 0) return undefined;
  return new KeyPool(spec.apiKeys.map((k) => (typeof k === 'string' ? { key: k, weight: 1 } : k)));
}
