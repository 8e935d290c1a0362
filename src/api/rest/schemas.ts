import { MAX_REPLAY_RECORDS } from '../../replay/index.js';

/**
 * JSON schemas of the REST bodies (DESIGN §4.4). Unknown fields are errors, not silently
 * dropped: a misspelt `timeoutMS` must not deploy a function with the default limit.
 */
// The registry checks the name's pattern itself, with its own message.
const name = { type: 'string', minLength: 1, maxLength: 128 } as const;

const retry = {
  type: 'object',
  additionalProperties: false,
  properties: {
    maxAttempts: { type: 'integer', minimum: 1, maximum: 100 },
    initialBackoffMs: { type: 'integer', minimum: 0 },
    maxBackoffMs: { type: 'integer', minimum: 0 },
  },
} as const;

export const functionConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    timeoutMs: { type: 'integer', minimum: 1, maximum: 900_000 },
    memoryMb: { type: 'integer', minimum: 1, maximum: 4096 },
    stackKb: { type: 'integer', minimum: 64, maximum: 65536 },
    allowedHosts: { type: 'array', items: { type: 'string', minLength: 1 } },
    allowedEnv: { type: 'array', items: { type: 'string', minLength: 1 } },
    verifyJwt: { type: 'boolean' },
    retry,
  },
} as const;

export const triggerSchema = {
  type: 'object',
  required: ['type'],
  discriminator: { propertyName: 'type' },
  oneOf: [
    { type: 'object', additionalProperties: false, properties: { type: { const: 'http' } } },
    {
      type: 'object',
      additionalProperties: false,
      required: ['table', 'operations'],
      properties: {
        type: { const: 'database' },
        table: { type: 'string', minLength: 1 },
        operations: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: ['INSERT', 'UPDATE', 'DELETE'] } },
        filter: { type: 'array', items: { type: 'object', required: ['column'], properties: { column: { type: 'string' } } } },
      },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['cron'],
      properties: {
        type: { const: 'schedule' },
        cron: { type: 'string', minLength: 1 },
        timezone: { type: 'string', minLength: 1 },
        catchUp: { type: 'boolean' },
      },
    },
  ],
} as const;

export const deployBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'wasm'],
  properties: {
    name,
    wasm: { type: 'string', minLength: 1, contentEncoding: 'base64' },
    config: functionConfigSchema,
    triggers: { type: 'array', items: triggerSchema },
    expectedVersion: { type: 'integer', minimum: 0 },
  },
} as const;

export const nameParamsSchema = {
  type: 'object',
  required: ['name'],
  properties: { name },
} as const;

export const undeployQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { expectedVersion: { type: 'integer', minimum: 1 } },
} as const;

export const invocationsQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 20 } },
} as const;

export interface DeployBody {
  name: string;
  wasm: string;
  config?: Record<string, unknown>;
  triggers?: unknown[];
  expectedVersion?: number;
}

export const replayBodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: MAX_REPLAY_RECORDS },
    invocationIds: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, maxItems: MAX_REPLAY_RECORDS },
    against: { type: 'string', enum: ['recorded', 'current'] },
  },
} as const;

export interface ReplayBody {
  limit?: number;
  invocationIds?: string[];
  against?: 'recorded' | 'current';
}
