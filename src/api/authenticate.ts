import { anonContext, type RlsContext } from '../auth/index.js';
import { FunctionError } from '../errors/index.js';

/**
 * Turns a bearer token into the caller's RLS context. main.ts passes the JWT verifier of
 * src/auth; it throws FunctionError Unauthorized for a bad signature, an expired token or a
 * missing `role` claim.
 */
export interface Authenticator {
  verify(token: string): Promise<RlsContext>;
}

function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined || authorization.trim() === '') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization.trim());
  if (match === null || match[1] === undefined) {
    throw new FunctionError('Unauthorized', 'the authorization header must be "Bearer <JWT>"');
  }
  return match[1];
}

/**
 * Tokens that verified recently, per authenticator. Verifying an HS256 JWT costs ≈ 60 µs of CPU
 * (jose over WebCrypto) — as much as the rest of an API invocation — and clients send the same
 * token on every call. Only successes are kept, each until the sooner of `verifiedTtlMs` from now
 * and the token's own `exp` (without the verifier's clock tolerance), so an expired token is
 * verified again and refused as before; the key is the whole token, signature included. A changed
 * secret takes a restart, which empties the cache.
 */
const verifiedTtlMs = 30_000;
const verifiedMax = 10_000;
const verified = new WeakMap<Authenticator, Map<string, { readonly context: RlsContext; readonly until: number }>>();

async function verifyCached(auth: Authenticator, token: string): Promise<RlsContext> {
  let cache = verified.get(auth);
  const now = Date.now();
  const hit = cache?.get(token);
  if (hit !== undefined) {
    if (now < hit.until) return hit.context;
    cache!.delete(token);
  }
  const context = await auth.verify(token);
  const exp = context.claims['exp'];
  const until = Math.min(now + verifiedTtlMs, typeof exp === 'number' ? exp * 1000 : Infinity);
  if (until > now) {
    if (cache === undefined) verified.set(auth, (cache = new Map()));
    // Oldest first (insertion order): a full cache drops its oldest entry.
    if (cache.size >= verifiedMax) cache.delete(cache.keys().next().value!);
    cache.set(token, { context, until });
  }
  return context;
}

/** Any valid JWT (anon key included). A bad token is always 401, even where none is needed. */
export async function authenticate(auth: Authenticator, authorization: string | undefined, options: { optional?: boolean } = {}): Promise<RlsContext> {
  const token = bearerToken(authorization);
  if (token === undefined) {
    if (options.optional === true) return anonContext;
    throw new FunctionError('Unauthorized', 'this call needs a JWT: send "authorization: Bearer <JWT>" (AEROFN_TOKEN for the CLI)');
  }
  try {
    return await verifyCached(auth, token);
  } catch (error) {
    if (error instanceof FunctionError) throw error;
    throw new FunctionError('Unauthorized', `the JWT was rejected: ${(error as Error).message}`, { cause: error });
  }
}

/** Deploy, undeploy and the registry's history need the service role (Supabase's service key). */
export async function authenticateServiceRole(auth: Authenticator, authorization: string | undefined, action: string): Promise<RlsContext> {
  const caller = await authenticate(auth, authorization);
  if (caller.role !== 'service_role') {
    throw new FunctionError('Forbidden', `${action} needs the service_role; this JWT has role "${caller.role}"`);
  }
  return caller;
}
