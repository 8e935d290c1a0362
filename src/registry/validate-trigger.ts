import { CronExpressionParser } from 'cron-parser';
import { IANAZone } from 'luxon';
import { FunctionError } from '../errors/index.js';
import type { DatabaseOperation, FilterPredicate, Trigger } from './function-definition.js';

/** Shared checks for request bodies: every message names the field and says what it expects. */
export const badRequest = (message: string): FunctionError => new FunctionError('BadRequest', message);

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array);
}

export function expectObject(value: unknown, where: string): Record<string, unknown> {
  if (!isPlainObject(value)) throw badRequest(`${where} must be a JSON object`);
  return value;
}

/** Unknown fields are refused rather than ignored: a typo like `timeoutMS` must not silently fall back to a default. */
export function checkKeys(value: Record<string, unknown>, allowed: readonly string[], where: string): void {
  const unknown = Object.keys(value).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) {
    throw badRequest(`${where} has unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}; allowed: ${allowed.join(', ')}`);
  }
}

const operations: readonly DatabaseOperation[] = ['INSERT', 'UPDATE', 'DELETE'];
const tablePattern = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/;
const predicateOperators = ['equals', 'in', 'exists', 'prefix', 'suffix', 'anythingBut', 'numeric'] as const;
const numericOperators = ['<', '<=', '=', '>=', '>'];
export const maxTriggers = 32;
const maxPredicates = 32;

export function validateTriggers(value: unknown): Trigger[] {
  if (value === undefined) return [{ type: 'http' }];
  if (!Array.isArray(value)) throw badRequest('triggers must be an array, e.g. [{"type":"http"}]');
  if (value.length > maxTriggers) throw badRequest(`triggers has ${value.length} entries; at most ${maxTriggers} are allowed`);
  const triggers = value.map((raw, index) => validateTrigger(raw, `triggers[${index}]`));
  if (triggers.filter((t) => t.type === 'http').length > 1) throw badRequest('triggers lists {"type":"http"} more than once; list it once');
  return triggers;
}

function validateTrigger(raw: unknown, where: string): Trigger {
  const trigger = expectObject(raw, where);
  switch (trigger['type']) {
    case 'http':
      checkKeys(trigger, ['type'], where);
      return { type: 'http' };
    case 'database':
      return validateDatabaseTrigger(trigger, where);
    case 'schedule':
      return validateScheduleTrigger(trigger, where);
    default:
      throw badRequest(`${where}.type must be "http", "database" or "schedule", got ${JSON.stringify(trigger['type'])}`);
  }
}

function validateDatabaseTrigger(trigger: Record<string, unknown>, where: string): Trigger {
  checkKeys(trigger, ['type', 'table', 'operations', 'filter'], where);
  const { table, operations: ops, filter } = trigger;
  if (typeof table !== 'string' || !tablePattern.test(table)) {
    throw badRequest(`${where}.table must be a table name like "orders" or "public.orders", got ${JSON.stringify(table)}`);
  }
  if (!Array.isArray(ops) || ops.length === 0) throw badRequest(`${where}.operations must be a non-empty array of ${operations.join(', ')}`);
  for (const op of ops) {
    if (!operations.includes(op as DatabaseOperation)) throw badRequest(`${where}.operations: ${JSON.stringify(op)} is not one of ${operations.join(', ')}`);
  }
  if (new Set(ops).size !== ops.length) throw badRequest(`${where}.operations lists an operation twice`);
  const result: { type: 'database'; table: string; operations: DatabaseOperation[]; filter?: FilterPredicate[] } = {
    type: 'database',
    table,
    operations: ops as DatabaseOperation[],
  };
  if (filter !== undefined) result.filter = validateFilter(filter, `${where}.filter`);
  return result;
}

function validateFilter(value: unknown, where: string): FilterPredicate[] {
  if (!Array.isArray(value)) throw badRequest(`${where} must be an array of predicates like {"column":"status","equals":"paid"}`);
  if (value.length > maxPredicates) throw badRequest(`${where} has ${value.length} predicates; at most ${maxPredicates} are allowed`);
  return value.map((raw, index) => {
    const at = `${where}[${index}]`;
    const predicate = expectObject(raw, at);
    checkKeys(predicate, ['column', ...predicateOperators], at);
    if (typeof predicate['column'] !== 'string' || predicate['column'] === '') throw badRequest(`${at}.column must be a non-empty column name`);
    const used = predicateOperators.filter((op) => predicate[op] !== undefined);
    if (used.length !== 1) throw badRequest(`${at} needs exactly one of ${predicateOperators.join(', ')}; it has ${used.length}`);
    const op = used[0] as (typeof predicateOperators)[number];
    const operand = predicate[op];
    const ok =
      op === 'equals' ||
      ((op === 'in' || op === 'anythingBut') && Array.isArray(operand)) ||
      (op === 'exists' && typeof operand === 'boolean') ||
      ((op === 'prefix' || op === 'suffix') && typeof operand === 'string') ||
      (op === 'numeric' && Array.isArray(operand) && operand.length === 2 && numericOperators.includes(operand[0] as string) && typeof operand[1] === 'number' && Number.isFinite(operand[1]));
    if (!ok) throw badRequest(`${at}.${op} has the wrong shape; see docs/registry.md#filters`);
    return { column: predicate['column'], [op]: operand } as unknown as FilterPredicate;
  });
}

function validateScheduleTrigger(trigger: Record<string, unknown>, where: string): Trigger {
  checkKeys(trigger, ['type', 'cron', 'timezone', 'catchUp'], where);
  const { cron, timezone, catchUp } = trigger;
  if (typeof cron !== 'string') throw badRequest(`${where}.cron must be a cron expression such as "*/5 * * * *"`);
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    throw badRequest(`${where}.cron "${cron}" has ${fields.length} field(s); use 5 (minute hour day month weekday) or 6 (with seconds first)`);
  }
  if (timezone !== undefined && (typeof timezone !== 'string' || !IANAZone.isValidZone(timezone))) {
    throw badRequest(`${where}.timezone must be an IANA time zone such as "Europe/Berlin", got ${JSON.stringify(timezone)}`);
  }
  try {
    CronExpressionParser.parse(cron, { tz: (timezone as string | undefined) ?? 'UTC', strict: false });
  } catch (error) {
    throw badRequest(`${where}.cron "${cron}" is not a valid cron expression: ${explainCronError(fields, error as Error)}`);
  }
  if (catchUp !== undefined && typeof catchUp !== 'boolean') throw badRequest(`${where}.catchUp must be true or false`);
  const result: { type: 'schedule'; cron: string; timezone?: string; catchUp?: boolean } = { type: 'schedule', cron: fields.join(' ') };
  if (timezone !== undefined) result.timezone = timezone as string;
  if (catchUp !== undefined) result.catchUp = catchUp;
  return result;
}

const cronFieldNames5 = ['minute', 'hour', 'day of month', 'month', 'day of week'];
const cronFieldNames6 = ['second', ...cronFieldNames5];

/**
 * cron-parser says "Constraint error, got value 61 expected range 0-59" without naming the field:
 * parse each field alone (the others `*`) to find the one at fault and say which it is.
 */
function explainCronError(fields: readonly string[], error: Error): string {
  const names = fields.length === 6 ? cronFieldNames6 : cronFieldNames5;
  for (const [index, field] of fields.entries()) {
    const alone = fields.map((f, i) => (i === index ? f : '*')).join(' ');
    try {
      CronExpressionParser.parse(alone, { strict: false });
    } catch (fieldError) {
      const message = (fieldError as Error).message;
      const range = /got value (\S+) expected range (\S+)/.exec(message);
      if (range !== null) return `${names[index]} ${range[1]} out of range ${range[2]}`;
      return `${names[index]} field "${field}": ${message.replace(/^Constraint error, /, '')}`;
    }
  }
  // Only the combination is wrong, e.g. "0 0 31 2 *" (February never has a 31st).
  return `${error.message}; fields are ${names.join(', ')}`;
}
