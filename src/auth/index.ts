export { serviceRoleContext, anonContext } from './rls-context.js';
export type { DatabaseRole, RlsContext } from './rls-context.js';
export { createJwtVerifier, contextFromClaims } from './jwt-verifier.js';
export type { JwtVerifier } from './jwt-verifier.js';
export { mintToken, mintDevTokens } from './dev-tokens.js';
export type { MintTokenOptions } from './dev-tokens.js';
