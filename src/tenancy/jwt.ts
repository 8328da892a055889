/**
 * JWTs as client credentials (`jose`): verified against a JWKS URL (keys
 * fetched and cached by jose) or a shared HMAC secret, with issuer, audience
 * and expiry checked. Unsigned tokens (`alg: none`) are never accepted: jose
 * only verifies signed tokens, and the allowed algorithms are pinned per source.
 */
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';

export interface JwtSettings {
  readonly jwksUrl?: string;
  readonly secret?: string;
  readonly issuer: string;
  readonly audience: string | readonly string[];
  readonly tenantClaim: string;
  readonly modelsClaim?: string;
  readonly routesClaim?: string;
  readonly clockToleranceSec: number;
}

export interface VerifiedToken {
  /** The tenant claim's value: a tenant name or id in the store. */
  readonly tenant: string;
  readonly subject?: string;
  readonly models?: readonly string[];
  readonly routes?: readonly string[];
}

/** Why a token was refused, for the log line (never the token itself). */
export class JwtRejected extends Error {
  override readonly name = 'JwtRejected';
}

const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const SYMMETRIC = ['HS256', 'HS384', 'HS512'];

/** Three base64url parts, the first a JSON header: a JWT rather than an API key. */
export function looksLikeJwt(credential: string): boolean {
  return credential.startsWith('eyJ') && /^[\w-]+\.[\w-]+\.[\w-]*$/.test(credential);
}

export function createJwtVerifier(settings: JwtSettings): (token: string) => Promise<VerifiedToken> {
  const algorithms = settings.jwksUrl !== undefined ? ASYMMETRIC : SYMMETRIC;
  const key: JWTVerifyGetKey | Uint8Array =
    settings.jwksUrl !== undefined
      ? createRemoteJWKSet(new URL(settings.jwksUrl), { timeoutDuration: 5000, cooldownDuration: 30_000, cacheMaxAge: 600_000 })
      : new TextEncoder().encode(settings.secret);
  const options = {
    algorithms,
    issuer: settings.issuer,
    audience: typeof settings.audience === 'string' ? settings.audience : [...settings.audience],
    clockTolerance: settings.clockToleranceSec,
    requiredClaims: ['exp'],
  };
  return async (token) => {
    let payload: JWTPayload;
    try {
      payload =
        key instanceof Uint8Array ? (await jwtVerify(token, key, options)).payload : (await jwtVerify(token, key, options)).payload;
    } catch (err) {
      // jose's codes say what failed (ERR_JWT_EXPIRED, ERR_JWT_CLAIM_VALIDATION_FAILED, ERR_JWKS_NO_MATCHING_KEY…).
      const code = (err as { code?: string }).code ?? 'ERR_JWT_INVALID';
      const claim = (err as { claim?: string }).claim;
      throw new JwtRejected(claim === undefined ? code : `${code} (${claim})`);
    }
    const tenant = payload[settings.tenantClaim];
    if (typeof tenant !== 'string' || tenant === '') throw new JwtRejected(`missing claim '${settings.tenantClaim}'`);
    const verified: { -readonly [K in keyof VerifiedToken]: VerifiedToken[K] } = { tenant };
    if (typeof payload.sub === 'string') verified.subject = payload.sub;
    if (settings.modelsClaim !== undefined) verified.models = claimList(payload[settings.modelsClaim]);
    if (settings.routesClaim !== undefined) verified.routes = claimList(payload[settings.routesClaim]);
    if (verified.models === undefined) delete verified.models;
    if (verified.routes === undefined) delete verified.routes;
    return verified;
  };
}

/** A scope claim as a list: a JSON array of strings or a space-separated string (OAuth style); absent → undefined. */
function claimList(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value.split(/\s+/).filter((s) => s !== '');
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  // A malformed scope claim grants nothing rather than everything.
  return [];
}
