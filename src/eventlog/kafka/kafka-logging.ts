import { logLevel, type logCreator } from 'kafkajs';
import type { Logger } from 'pino';

/**
 * kafkajs logs through ours: its ERROR and WARN stay warnings (it reports routine rebalances and
 * reconnects as errors), its INFO becomes debug, so a healthy service is quiet at level info.
 */
export function kafkaLogCreator(logger: Logger): logCreator {
  return () => ({ namespace, level, log }) => {
    const { message, ...extra } = log;
    const fields = { ...extra, kafkajs: namespace };
    if (level === logLevel.ERROR || level === logLevel.WARN) logger.warn(fields, message);
    else if (level === logLevel.INFO) logger.debug(fields, message);
    else logger.trace(fields, message);
  };
}

export function kafkaLogLevel(logger: Logger): logLevel {
  if (logger.isLevelEnabled('trace')) return logLevel.DEBUG;
  if (logger.isLevelEnabled('debug')) return logLevel.INFO;
  return logLevel.WARN;
}
