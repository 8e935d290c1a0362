import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { AeroConfig } from '../config/index.js';
import { FunctionError } from '../errors/index.js';
import type { DatabaseRole, RlsContext } from './rls-context.js';

const roles: readonly DatabaseRole[] = ['anon', 'authenticated', 'service_role'];

/** The same shape src/api's Authenticator expects. */
export interface JwtVerifier {
  /** The caller's RLS context; FunctionError Unauthorized for any token we cannot trust. */
  verify(token: string): Promise<RlsContext>;
}

type AsymmetricAlg = 'RS256' | 'ES256';
interface PublicKey {
  readonly alg: AsymmetricAlg;
  readonly key: KeyObject;
  readonly file: string;
}

function unauthorized(message: string, cause?: unknown): FunctionError {
  return new FunctionError('Unauthorized', message, cause === undefined ? {} : { cause });
}

async function loadPublicKeys(files: readonly string[]): Promise<PublicKey[]> {
  return Promise.all(
    files.map(async (file) => {
      let key: KeyObject;
      try {
        key = createPublicKey(await readFile(file, 'utf8'));
      } catch (error) {
        throw new Error(`AEROFN_JWT_PUBLIC_KEYS: ${file} is not a readable PEM public key: ${(error as Error).message}`);
      }
      const type = key.asymmetricKeyType;
      if (type === 'rsa') return { alg: 'RS256' as const, key, file };
      if (type === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return { alg: 'ES256' as const, key, file };
      throw new Error(`AEROFN_JWT_PUBLIC_KEYS: ${file} is a ${type ?? 'unknown'} key; use an RSA key (RS256) or a P-256 key (ES256)`);
    }),
  );
}

/** Claims → RlsContext, as Supabase reads them: `role` picks the database role, `sub` the user. */
export function contextFromClaims(payload: JWTPayload): RlsContext {
  const role = payload['role'];
  if (typeof role !== 'string') throw unauthorized('the JWT has no "role" claim; mint tokens with role anon, authenticated or service_role');
  if (!(roles as readonly string[]).includes(role)) {
    throw unauthorized(`the JWT's role "${role}" is not one of anon, authenticated, service_role`);
  }
  const sub = typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : null;
  return Object.freeze({ role: role as DatabaseRole, sub, claims: Object.freeze({ ...payload }) });
}

/**
 * HS256 with AEROFN_JWT_SECRET and, when configured, RS256/ES256 with the PEM public keys of
 * AEROFN_JWT_PUBLIC_KEYS. Only those algorithms are accepted (so `alg: none` and HS/RS confusion
 * are refused); `exp` and `nbf` are checked when present, with 5 s of clock tolerance.
 */
export async function createJwtVerifier(config: Pick<AeroConfig['auth'], 'jwtSecret' | 'jwtPublicKeys'>): Promise<JwtVerifier> {
  const secret = config.jwtSecret === undefined ? undefined : new TextEncoder().encode(config.jwtSecret);
  const publicKeys = await loadPublicKeys(config.jwtPublicKeys);

  return {
    async verify(token: string): Promise<RlsContext> {
      let alg: string | undefined;
      try {
        alg = decodeProtectedHeader(token).alg;
      } catch (error) {
        throw unauthorized('the bearer token is not a JWT', error);
      }
      const candidates: Array<{ key: Uint8Array | KeyObject; alg: string }> = [];
      if (alg === 'HS256' && secret !== undefined) candidates.push({ key: secret, alg });
      for (const key of publicKeys) if (key.alg === alg) candidates.push({ key: key.key, alg });
      if (candidates.length === 0) {
        const accepted = [secret === undefined ? [] : ['HS256'], publicKeys.map((key) => key.alg)].flat();
        throw unauthorized(
          accepted.length === 0
            ? 'no JWT keys are configured; set AEROFN_JWT_SECRET (or AEROFN_JWT_PUBLIC_KEYS)'
            : `the JWT is signed with ${alg ?? 'no algorithm'}; this service accepts ${[...new Set(accepted)].join(', ')}`,
        );
      }
      let lastError: unknown;
      for (const candidate of candidates) {
        try {
          const { payload } = await jwtVerify(token, candidate.key, { algorithms: [candidate.alg], clockTolerance: 5 });
          return contextFromClaims(payload);
        } catch (error) {
          if (error instanceof FunctionError) throw error;
          lastError = error;
          if (error instanceof joseErrors.JWTExpired) break;
        }
      }
      throw unauthorized(describe(lastError), lastError);
    },
  };
}

function describe(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'the JWT has expired; get a new token';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'the JWT signature does not verify with the configured keys';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `the JWT claim "${error.claim}" is not valid: ${error.reason}`;
  return `the JWT was rejected: ${error instanceof Error ? error.message : String(error)}`;
}
