import type { RequestHandler } from 'express';
import {
  createRemoteJWKSet,
  jwtVerify,
  type JWTHeaderParameters,
  type JWTPayload,
  type JWTVerifyGetKey,
  type FlattenedJWSInput,
} from 'jose';

import type { Clock } from './clock';
import type { Config } from './config';
import { ApiError } from './errors';

// Keys are chosen by algorithm family before verification: HS256 tokens only ever meet the shared
// secret and asymmetric tokens only ever meet the JWKS, so an attacker cannot sign with a public
// key as an HMAC secret (HS/RS confusion), and `none` is never on the allow-list.

const ASYMMETRIC_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BEARER = /^Bearer +([A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]*\.[A-Za-z0-9_=-]*) *$/i;
const CLOCK_TOLERANCE_SECONDS = 30;

// A client sends the same token with every request, and a signature check is most of what a read
// costs, so a token that verified is remembered by its exact text. It is trusted again only until
// the earlier of its own expiry and a minute after it was checked, so a key withdrawn from the
// JWKS is honoured at most a minute longer than jose's own JWKS cache keeps it. Failures are never
// remembered.
const REMEMBER_MS = 60_000;
const REMEMBERED_TOKENS = 10_000;

export interface AuthOptions {
  jwt: Config['jwt'];
  clock: Clock;
}

/**
 * Verifies a bearer token and returns the caller's tenant id, or rejects with 401 `UNAUTHORIZED`.
 * A token remembered from an earlier check answers at once, without a promise, since that is
 * nearly every request and a promise and its turn of the event loop cost more than the lookup.
 */
export type Authenticator = (authorization: string | undefined) => string | Promise<string>;

export function createAuthenticator({ jwt, clock }: AuthOptions): Authenticator {
  const secret = jwt.secret === undefined ? undefined : new TextEncoder().encode(jwt.secret);
  const jwks = jwt.jwksUrl === undefined ? undefined : createRemoteJWKSet(new URL(jwt.jwksUrl));
  const algorithms = [
    ...(secret === undefined ? [] : ['HS256']),
    ...(jwks === undefined ? [] : ASYMMETRIC_ALGORITHMS),
  ];

  const keyFor: JWTVerifyGetKey = async (header: JWTHeaderParameters, token: FlattenedJWSInput) => {
    if (header.alg === 'HS256' && secret !== undefined) {
      return secret;
    }
    if (header.alg !== 'HS256' && jwks !== undefined) {
      return jwks(header, token);
    }
    throw new Error('no key for this algorithm');
  };

  // Insertion order is age order, so the first entry is the one to evict when full.
  const remembered = new Map<string, { tenantId: string; until: number }>();

  const verify = async (token: string, now: number): Promise<string> => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keyFor, {
        algorithms,
        requiredClaims: ['exp'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: new Date(now),
        ...(jwt.issuer === undefined ? {} : { issuer: jwt.issuer }),
        ...(jwt.audience === undefined ? {} : { audience: jwt.audience }),
      }));
    } catch (error) {
      throw unauthorized(error);
    }

    const claim = payload.tenant_id;
    if (typeof claim !== 'string' || !UUID.test(claim)) {
      throw unauthorized();
    }
    const tenantId = claim.toLowerCase();

    if (remembered.size >= REMEMBERED_TOKENS) {
      remembered.delete(remembered.keys().next().value as string);
    }
    // `exp` is a number here: jwtVerify requires it and checks its type.
    const expiresAt = ((payload.exp as number) + CLOCK_TOLERANCE_SECONDS) * 1000;
    remembered.set(token, { tenantId, until: Math.min(expiresAt, now + REMEMBER_MS) });
    return tenantId;
  };

  return (authorization) => {
    const token = authorization === undefined ? undefined : BEARER.exec(authorization)?.[1];
    if (token === undefined) {
      return Promise.reject(unauthorized());
    }

    const now = clock.now();
    const known = remembered.get(token);
    if (known !== undefined && now < known.until) {
      return known.tenantId;
    }
    remembered.delete(token);

    return verify(token, now);
  };
}

/**
 * Authenticates every request it sees and keeps the tenant in `res.locals.tenantId`. It runs before
 * body parsing, so an unauthenticated body is never read.
 */
export function authenticate(authenticator: Authenticator): RequestHandler {
  return (req, res, next) => {
    const tenantId = authenticator(req.get('authorization'));
    if (typeof tenantId === 'string') {
      res.locals.tenantId = tenantId;
      next();
      return;
    }

    // Express 5 passes a rejection of the returned promise to the error middleware.
    return tenantId.then((verified) => {
      res.locals.tenantId = verified;
      next();
    });
  };
}

/** The authenticated caller's tenant id; only valid behind `authenticate`. */
export function tenantOf(locals: Record<string, unknown>): string {
  const tenantId = locals.tenantId;
  if (typeof tenantId !== 'string') {
    throw new Error('tenantOf() used on a route without authentication');
  }
  return tenantId;
}

function unauthorized(cause?: unknown): ApiError {
  return new ApiError('UNAUTHORIZED', 'A valid bearer token is required.', { cause });
}
