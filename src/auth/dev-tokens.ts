import { SignJWT } from 'jose';
import type { DatabaseRole } from './rls-context.js';

export interface MintTokenOptions {
  readonly secret: string;
  readonly role: DatabaseRole;
  readonly sub?: string;
  /** Seconds from now; default one hour. Negative values mint an already expired token (tests). */
  readonly expiresInSeconds?: number;
  readonly claims?: Record<string, unknown>;
}

/** An HS256 token as Supabase issues them, for `make run`, the CLI and tests. Never for production users. */
export async function mintToken(options: MintTokenOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ ...options.claims, role: options.role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresInSeconds ?? 3600));
  if (options.sub !== undefined) jwt.setSubject(options.sub);
  return jwt.sign(new TextEncoder().encode(options.secret));
}

/** The anon and service_role keys of a dev setup (Supabase's pair), valid for a day. */
export async function mintDevTokens(secret: string): Promise<{ anon: string; serviceRole: string }> {
  const day = 24 * 3600;
  const [anon, serviceRole] = await Promise.all([
    mintToken({ secret, role: 'anon', expiresInSeconds: day }),
    mintToken({ secret, role: 'service_role', expiresInSeconds: day }),
  ]);
  return { anon, serviceRole };
}
