/**
 * Verifies the bearer tokens Parley accepts: RSA-signed JWTs from one OIDC issuer (Cognito on
 * AWS, the dev issuer in local mode). Used by the WebSocket `$connect` authorizer and by local
 * mode's HTTP API host, so both apply the same rules as API Gateway's JWT authorizer:
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html
 *
 * - signature checked against the issuer's JWKS (`kid` must match a published key; RSA only);
 * - `iss` must equal the configured issuer; `exp` is required, `exp` and `nbf` honoured with a
 *   small clock tolerance;
 * - audience: `aud` must contain an accepted audience; only when `aud` is absent is `client_id`
 *   checked instead (Cognito access tokens carry `client_id`, not `aud`);
 * - `sub` is the user id.
 *
 * A rejected token raises `UnauthorizedError` whose message says why, never the token itself.
 * An unreachable or broken JWKS endpoint is not the caller's fault: it raises `UpstreamError`.
 */
import { createRemoteJWKSet, decodeProtectedHeader, errors, type JWTPayload, jwtVerify } from 'jose';
import { UnauthorizedError, UpstreamError } from '../errors';

/** Clock skew tolerated on `exp`, `nbf` and `iat`. */
export const CLOCK_TOLERANCE_SECONDS = 5;
/** API Gateway's JWT authorizer supports RSA-based algorithms only. */
export const ACCEPTED_ALGORITHMS = ['RS256', 'RS384', 'RS512'] as const;
/** How long one JWKS download may take before verification fails. */
export const JWKS_TIMEOUT_MS = 5_000;

export interface JwtVerifierOptions {
  /** Expected `iss`, e.g. `https://cognito-idp.{region}.amazonaws.com/{userPoolId}`. */
  issuer: string;
  /** Accepted audience(s): the app client id(s). */
  audience: string | readonly string[];
  /** Defaults to `{issuer}/.well-known/jwks.json` (Cognito's and the dev issuer's location). */
  jwksUri?: string;
}

export interface VerifiedToken {
  userId: string;
  claims: JWTPayload;
}

export interface JwtVerifier {
  verify(token: string): Promise<VerifiedToken>;
}

export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  const audiences: readonly string[] =
    typeof options.audience === 'string' ? [options.audience] : options.audience;
  if (audiences.length === 0) throw new TypeError('createJwtVerifier: at least one audience is required');
  const jwksUri = options.jwksUri ?? `${options.issuer.replace(/\/+$/, '')}/.well-known/jwks.json`;
  const jwks = createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: JWKS_TIMEOUT_MS });

  return {
    async verify(token: string): Promise<VerifiedToken> {
      if (typeof token !== 'string' || token.trim() === '') {
        throw new UnauthorizedError('Token is missing');
      }
      let claims: JWTPayload;
      try {
        // Without a kid, jose would try the issuer's only key: refuse it, as the rule above says.
        const { kid } = protectedHeader(token.trim());
        if (typeof kid !== 'string' || kid === '') {
          throw new UnauthorizedError('Token has no key id (kid)');
        }
        ({ payload: claims } = await jwtVerify(token.trim(), jwks, {
          issuer: options.issuer,
          algorithms: [...ACCEPTED_ALGORITHMS],
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          requiredClaims: ['exp'],
        }));
      } catch (error) {
        throw toVerificationError(error);
      }
      if (!audienceAccepted(claims, audiences)) {
        throw new UnauthorizedError('Token does not have a valid audience');
      }
      if (typeof claims.sub !== 'string' || claims.sub === '') {
        throw new UnauthorizedError('Token has no subject');
      }
      return { userId: claims.sub, claims };
    },
  };
}

function protectedHeader(token: string): ReturnType<typeof decodeProtectedHeader> {
  try {
    return decodeProtectedHeader(token);
  } catch {
    throw new UnauthorizedError('Token is malformed');
  }
}

/** `aud` wins when present; `client_id` is consulted only when `aud` is absent (as API Gateway does). */
function audienceAccepted(claims: JWTPayload, audiences: readonly string[]): boolean {
  if (claims.aud !== undefined) {
    const tokenAudiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    return tokenAudiences.some((aud) => audiences.includes(aud));
  }
  const clientId = claims.client_id;
  return typeof clientId === 'string' && audiences.includes(clientId);
}

function toVerificationError(error: unknown): Error {
  if (error instanceof UnauthorizedError) return error;
  if (error instanceof errors.JWTExpired) return new UnauthorizedError('Token has expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return new UnauthorizedError('Token issuer is not trusted');
    if (error.claim === 'nbf') return new UnauthorizedError('Token is not valid yet');
    return new UnauthorizedError(`Token claim "${error.claim}" is invalid (${error.reason})`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new UnauthorizedError('Token signature is invalid');
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return new UnauthorizedError('Token was not signed by a key of the issuer');
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return new UnauthorizedError('Token algorithm is not accepted');
  }
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) {
    return new UnauthorizedError('Token is malformed');
  }
  // JWKSTimeout, JWKSInvalid, network failures: the issuer is unreachable or misconfigured.
  return new UpstreamError('JWKS_UNAVAILABLE', 'Could not load the token issuer signing keys', {
    cause: error,
  });
}
