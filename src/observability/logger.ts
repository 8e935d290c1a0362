import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

/**
 * The one logger root. Domains get `root.child({ module })`; nothing else calls pino().
 * Secrets are redacted by path so that a careless `log.info({ config })` cannot leak them.
 */
export function createRootLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'aerofn' },
      redact: { paths: ['*.jwtSecret', '*.secrets', 'secrets', 'authorization', '*.authorization', 'headers.authorization'], censor: '[redacted]' },
    },
    options.destination,
  );
}

/** A logger that writes nothing, for tools and tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
