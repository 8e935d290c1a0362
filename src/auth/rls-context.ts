/** Who a statement runs as: the Supabase roles, the JWT subject and the whole claims object. */
export type DatabaseRole = 'anon' | 'authenticated' | 'service_role';

export interface RlsContext {
  readonly role: DatabaseRole;
  readonly sub: string | null;
  readonly claims: Readonly<Record<string, unknown>>;
}

export const serviceRoleContext: RlsContext = Object.freeze({
  role: 'service_role',
  sub: null,
  claims: Object.freeze({ role: 'service_role' }),
});

export const anonContext: RlsContext = Object.freeze({
  role: 'anon',
  sub: null,
  claims: Object.freeze({ role: 'anon' }),
});
