/**
 * Credentials → Principal. API keys are looked up by the SHA-256 of the
 * presented key, through an LRU cache with a short TTL so the hot path does not
 * hit the store on every request; a revocation clears the entry at once (and on
 * every instance, see invalidation.ts). JWTs are verified on each request
 * (no store access but for the tenant, which is cached too).
 */
import { LRUCache } from 'lru-cache';
import { GatewayError } from '../errors.ts';
import { createJwtVerifier, JwtRejected, looksLikeJwt, type JwtSettings } from './jwt.ts';
import type { Principal } from './principal.ts';
import { isActive, type ApiKey, type Tenant, type TenancyRepository } from './repository.ts';
import { hashKey } from './secrets.ts';

export interface AuthenticatedKey {
  readonly principal: Principal;
  /** A tenant admin key: may use the admin API for its own tenant. */
  readonly admin: boolean;
}

/** Why a credential was refused, for the log line: never the credential itself. */
export class AuthRefused extends GatewayError {
  readonly reason: string;
  constructor(reason: string, message = 'Invalid API key or token.') {
    super('SWY_ERR_UNAUTHORIZED', message, { headers: { 'www-authenticate': 'Bearer' } });
    this.reason = reason;
  }
}

interface Found {
  readonly key: ApiKey;
  readonly tenant: Tenant;
}
const NOT_FOUND = Symbol('not found');
type CacheValue = Found | typeof NOT_FOUND;
type VerifyJwt = ReturnType<typeof createJwtVerifier>;

/** Unknown keys are remembered briefly too, so a client retrying a wrong key does not query the store each time. */
const NEGATIVE_TTL_MS = 2000;

export interface AuthenticatorOptions {
  readonly repo: TenancyRepository;
  readonly cacheTtlMs: number;
  readonly jwt?: JwtSettings;
  readonly maxCachedKeys?: number;
}

export class Authenticator {
  readonly #repo: TenancyRepository;
  readonly #keys: LRUCache<string, CacheValue>;
  readonly #tenants: LRUCache<string, Tenant | typeof NOT_FOUND>;
  readonly #verifyJwt: VerifyJwt | undefined;
  readonly #authenticated = new WeakMap<Found, AuthenticatedKey>();
  // SHA-256 of a key is ~1 µs, 1% of a request's CPU: a client sends the same key
  // every time. Holding presented keys in memory adds nothing the process does not
  // already see on every request; the bound keeps a key spray from growing it.
  readonly #hashes = new LRUCache<string, string>({ max: 10_000 });

  constructor(options: AuthenticatorOptions) {
    this.#repo = options.repo;
    const ttl = Math.max(1, options.cacheTtlMs);
    const repo = options.repo;
    this.#keys = new LRUCache<string, CacheValue>({
      max: options.maxCachedKeys ?? 10_000,
      ttl,
      // fetch() shares one store lookup between concurrent requests with the same key.
      fetchMethod: async (hash, _stale, { options: setOptions }) => {
        const found = await repo.findByHash(hash);
        if (found === undefined) {
          setOptions.ttl = Math.min(ttl, NEGATIVE_TTL_MS);
          return NOT_FOUND;
        }
        return found;
      },
    });
    this.#tenants = new LRUCache<string, Tenant | typeof NOT_FOUND>({
      max: 1000,
      ttl,
      fetchMethod: async (idOrName) => (await repo.findTenant(idOrName)) ?? NOT_FOUND,
    });
    this.#verifyJwt = options.jwt === undefined ? undefined : createJwtVerifier(options.jwt);
  }

  get jwtEnabled(): boolean {
    return this.#verifyJwt !== undefined;
  }

  /** Resolves a presented credential (API key or JWT) or throws AuthRefused (401). */
  async authenticate(credential: string, now = Date.now()): Promise<AuthenticatedKey> {
    if (this.#verifyJwt !== undefined && looksLikeJwt(credential)) return this.#authenticateJwt(credential, this.#verifyJwt);
    const hash = this.#hashOf(credential);
    return this.#checked(this.#keys.get(hash) ?? (await this.#keys.fetch(hash)), now);
  }

  /**
   * The hot path: an API key whose lookup is cached resolves without a
   * promise. Undefined when the answer needs the store or a JWT check
   * (call `authenticate`); throws AuthRefused like it.
   */
  authenticateCached(credential: string, now = Date.now()): AuthenticatedKey | undefined {
    if (this.#verifyJwt !== undefined && looksLikeJwt(credential)) return undefined;
    const found = this.#keys.get(this.#hashOf(credential));
    return found === undefined ? undefined : this.#checked(found, now);
  }

  #hashOf(credential: string): string {
    let hash = this.#hashes.get(credential);
    if (hash === undefined) {
      hash = hashKey(credential);
      this.#hashes.set(credential, hash);
    }
    return hash;
  }

  #checked(found: CacheValue | undefined, now: number): AuthenticatedKey {
    if (found === undefined || found === NOT_FOUND) throw new AuthRefused('unknown key');
    const { key, tenant } = found;
    if (key.revokedAt !== undefined) throw new AuthRefused('revoked key');
    if (!isActive(key, now)) throw new AuthRefused('expired key', 'This API key has expired.');
    if (tenant.disabled) throw new AuthRefused('tenant disabled');
    // One principal per cached lookup: it only changes when the cache entry does.
    let authenticated = this.#authenticated.get(found);
    if (authenticated === undefined) {
      const principal: Principal = {
        kind: 'key',
        tenantId: tenant.id,
        tenantName: tenant.name,
        keyId: key.id,
        keyLimits: key.limits,
        tenantLimits: tenant.limits,
        ...(key.models === undefined ? {} : { models: key.models }),
        ...(key.routes === undefined ? {} : { routes: key.routes }),
      };
      authenticated = { principal, admin: key.admin };
      this.#authenticated.set(found, authenticated);
    }
    return authenticated;
  }

  async #authenticateJwt(token: string, verify: VerifyJwt): Promise<AuthenticatedKey> {
    let verified;
    try {
      verified = await verify(token);
    } catch (err) {
      if (err instanceof JwtRejected) throw new AuthRefused(`jwt: ${err.message}`, 'Invalid or expired token.');
      throw err;
    }
    const tenant = await this.#tenants.fetch(verified.tenant);
    if (tenant === undefined || tenant === NOT_FOUND) throw new AuthRefused('jwt: unknown tenant', "The token's tenant is not known to this gateway.");
    if (tenant.disabled) throw new AuthRefused('tenant disabled');
    const principal: Principal = {
      kind: 'jwt',
      tenantId: tenant.id,
      tenantName: tenant.name,
      tenantLimits: tenant.limits,
      ...(verified.subject === undefined ? {} : { subject: verified.subject }),
      ...(verified.models === undefined ? {} : { models: verified.models }),
      ...(verified.routes === undefined ? {} : { routes: verified.routes }),
    };
    return { principal, admin: false };
  }

  /** Forgets cached lookups of a key, of every key of a tenant, or everything. */
  invalidate(target: { keyId?: string; tenantId?: string } = {}): void {
    if (target.keyId === undefined && target.tenantId === undefined) {
      this.#keys.clear();
      this.#tenants.clear();
      return;
    }
    for (const [hash, value] of this.#keys.entries()) {
      if (value === NOT_FOUND) continue;
      if (value.key.id === target.keyId || value.tenant.id === target.tenantId) this.#keys.delete(hash);
    }
    // A new key may have been cached as unknown a moment before it was created.
    for (const [hash, value] of this.#keys.entries()) if (value === NOT_FOUND) this.#keys.delete(hash);
    if (target.tenantId !== undefined) {
      for (const [name, value] of this.#tenants.entries()) {
        if (value === NOT_FOUND || value.id === target.tenantId) this.#tenants.delete(name);
      }
    }
  }

  /** The repository, for the admin API and the CLI. */
  get repo(): TenancyRepository {
    return this.#repo;
  }
}
