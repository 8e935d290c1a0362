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

/** Any valid JWT (anon key included). A bad token is always 401, even where none is needed. */
export async function authenticate(auth: Authenticator, authorization: string | undefined, options: { optional?: boolean } = {}): Promise<RlsContext> {
  const token = bearerToken(authorization);
  if (token === undefined) {
    if (options.optional === true) return anonContext;
    throw new FunctionError('Unauthorized', 'this call needs a JWT: send "authorization: Bearer <JWT>" (AEROFN_TOKEN for the CLI)');
  }
  try {
    return await auth.verify(token);
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
