export { errorTable, functionErrorKinds, statusOf } from './error-table.js';
export type { FunctionErrorKind, StatusMapping } from './error-table.js';
export { FunctionError, isFunctionError, isFunctionErrorKind, toFunctionError } from './function-error.js';
export type { FunctionErrorJson } from './function-error.js';
