/**
 * pino logger factory: JSON lines on stdout, optionally also appended to a file.
 *
 * The file is written by a small non-blocking sink instead of pino's destination: a file whose writes
 * fail (ENOSPC on a full disk or /dev/full, EIO) made that destination retry a synchronous flush forever,
 * which blocked the event loop, health checks and the SIGTERM drain. Here a failed write drops its lines,
 * counts them (logWriteErrors, published as `ws_gateway_log_write_errors_total`), is reported once on
 * stderr, and the next lines are tried again, so logging resumes when the disk has room.
 */
import { closeSync, constants, openSync, write, writeSync } from 'node:fs';
import { type Logger, pino } from 'pino';
import { ConfigError } from './errors.js';

export type { Logger };

export interface LoggerOptions {
  /** @default 'info' */
  level?: string;
  /** Also append JSON lines to this file. */
  file?: string | undefined;
}

/** Bytes that may wait for the file; beyond this a slow or stuck disk costs dropped lines, not memory. */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

let linesLost = 0;

/** Log lines this process could not write to LOG_FILE (write errors and overflow of a stuck file). */
export function logWriteErrors(): number {
  return linesLost;
}

/**
 * @throws ConfigError naming LOG_FILE when the file cannot be opened for appending (missing folder, a
 * directory, no permission).
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  if (!options.file) return pino({ level });
  const file = new FileSink(options.file);
  return pino(
    { level },
    pino.multistream([
      { stream: process.stdout, level: level as pino.Level },
      { stream: file, level: level as pino.Level },
    ]),
  );
}

/** A logger that writes nothing (tests, library default). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Appends lines to a file with at most one asynchronous write in flight; never blocks, never throws. */
class FileSink {
  private readonly fd: number;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private writing = false;
  private reported = false;

  constructor(private readonly path: string) {
    try {
      this.fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o644);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
      throw new ConfigError(
        `LOG_FILE=${JSON.stringify(path)} is not valid: expected a file that can be opened for appending (${code})`,
      );
    }
    // The descriptor lives as long as the process: the logger has no close, and exit releases it.
    // Lines still queued then (the shutdown's last ones) get one synchronous try: a failing file
    // answers at once with an error, so this cannot hang the exit.
    process.once('exit', () => {
      try {
        if (this.queue.length > 0) writeSync(this.fd, Buffer.concat(this.queue));
      } catch {}
      try {
        closeSync(this.fd);
      } catch {}
    });
  }

  write(line: string): boolean {
    const chunk = Buffer.from(line);
    if (this.queuedBytes + chunk.length > MAX_QUEUED_BYTES) {
      this.lost(1, 'the file does not keep up');
      return true;
    }
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
    if (!this.writing) this.flush();
    return true;
  }

  private flush(): void {
    const lines = this.queue.length;
    const data = lines === 1 ? this.queue[0]! : Buffer.concat(this.queue);
    this.queue = [];
    this.queuedBytes = 0;
    this.writing = true;
    write(this.fd, data, 0, data.length, null, (error, written) => {
      this.writing = false;
      if (error) this.lost(lines, error.code ?? error.message);
      else if (written < data.length) {
        this.queue.unshift(data.subarray(written));
        this.queuedBytes += data.length - written;
      }
      if (this.queue.length > 0) this.flush();
    });
  }

  private lost(lines: number, cause: string): void {
    linesLost += lines;
    if (this.reported) return;
    this.reported = true;
    process.stderr.write(
      `ws-manager: cannot write LOG_FILE=${JSON.stringify(this.path)} (${cause}): lines that cannot be written are dropped and counted in ws_gateway_log_write_errors_total; serving continues\n`,
    );
  }
}
