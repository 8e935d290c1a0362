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

/**
 * The root of a worker thread's logs: the main root's level and bindings, written straight to
 * stdout's file descriptor (a worker's process.stdout goes through the main thread's event loop,
 * which is the thread a stream thread exists to unload). Only the main root is built from config;
 * this one copies it.
 */
export function createThreadLogger(options: { level: string; bindings: Record<string, unknown> }): Logger {
  if (options.level === 'silent') return silentLogger();
  // The root sets `service`, and the thread names its own modules: pino would print such keys twice.
  const { service: _service, module: _module, ...bindings } = options.bindings;
  return createRootLogger({ level: options.level, destination: pino.destination({ dest: 1, sync: false }) }).child(bindings);
}
