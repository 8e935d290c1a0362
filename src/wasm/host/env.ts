import type { HostCallContext, HostFunction } from '../host-function.js';
import { decodeRequest } from './host-json.js';

export interface EnvOptions {
  /** The service's environment (process.env in main.ts). */
  readonly environment: Readonly<Record<string, string | undefined>>;
  /** The function's secrets, when they are kept outside its config (a secret store). */
  readonly secretsFor?: (functionName: string) => Readonly<Record<string, string>> | undefined;
}

/** The service's own settings never reach a guest from the environment, listed or not. */
export function isServiceSetting(key: string): boolean {
  return key.startsWith('AEROFN_') || key === 'DATABASE_URL';
}

/**
 * env (DESIGN §4.2): the value for a key on the function's allowedEnv, from its secrets first and
 * then the service environment; anything else reads as unset (0). Values are never logged; the
 * journal keeps only whether a value was returned (redactJournalEntry).
 */
export function createEnv(options: EnvOptions): HostFunction {
  return async (request: Uint8Array, context: HostCallContext): Promise<string | null> => {
    const key = decodeRequest(request);
    if (key === null || key === '' || !context.config.allowedEnv.includes(key)) {
      context.logger.debug({ key: key ?? '(not UTF-8)' }, 'env key not on allowedEnv: reads as unset');
      return null;
    }
    const secret = own(context.secrets, key) ?? own(options.secretsFor?.(context.functionName), key);
    if (secret !== undefined) return secret;
    if (isServiceSetting(key)) return null;
    return own(options.environment, key) ?? null;
  };
}

function own(map: Readonly<Record<string, string | undefined>> | undefined, key: string): string | undefined {
  return map !== undefined && Object.hasOwn(map, key) && typeof map[key] === 'string' ? map[key] : undefined;
}
