/** pino logger factory: JSON lines on stdout, optionally also appended to a file. */
import { type Logger, pino } from 'pino';

export type { Logger };

export interface LoggerOptions {
  /** @default 'info' */
  level?: string;
  /** Also append JSON lines to this file. */
  file?: string | undefined;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  if (!options.file) return pino({ level });
  return pino(
    { level },
    pino.multistream([
      { stream: process.stdout, level: level as pino.Level },
      {
        stream: pino.destination({ dest: options.file, append: true, sync: false }),
        level: level as pino.Level,
      },
    ]),
  );
}

/** A logger that writes nothing (tests, library default). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
