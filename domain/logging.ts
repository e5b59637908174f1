/**
 * The one way every process logs: structured pino JSON on stdout, level from FLEET_LOG_LEVEL.
 * Not imported by workflows (they log through the workflow logger, which the worker routes here).
 */
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** `destination`: where the lines go (default stdout; tests read them). */
export function createLogger(
  component: string,
  level = process.env.FLEET_LOG_LEVEL ?? 'info',
  destination?: DestinationStream,
): Logger {
  const options = {
    name: component,
    level,
    // Secrets never reach a log line, whatever object is passed in.
    redact: {
      paths: ['*.password', '*.access_key', '*.accessKey', '*.authorization', 'req.headers.authorization'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
