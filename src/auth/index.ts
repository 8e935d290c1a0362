export { serviceRoleContext, anonContext } from './rls-context.js';
export type { DatabaseRole, RlsContext } from './rls-context.js';
