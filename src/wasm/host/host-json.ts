/** Small helpers shared by the host functions: request parsing and the `{"error":{…}}` answer (defined with db_query's answers). */
export { decodeRequest, errorResponse, parseJsonObject } from '../../db/index.js';
