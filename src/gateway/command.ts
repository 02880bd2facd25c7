/** `ws-manager serve`: configuration from the environment, the gateway, and graceful shutdown on signals. */
import { handledArguments } from '../command-args.js';
import { loadConfig } from '../config/load-config.js';
import { configUsage } from '../config/usage.js';
import { ConfigError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { startGateway } from './start-gateway.js';

/** The `--help` text of `ws-manager serve`, generated from the configuration table. */
export const serveUsage = [
  'Usage: ws-manager serve [--help]',
  '',
  'Starts the gateway: GET/HEAD /api/ws/metrics, /healthz, /readyz, the admin API (when ADMIN_TOKEN is set)',
  'and the Binance-compatible WebSocket API (/ws/<stream>, /ws, /stream?streams=a/b, /stream).',
  'Without UPSTREAM_URL it runs an embedded market simulator as the upstream.',
  'SIGTERM or SIGINT drains: readiness answers 503, clients are closed with 1001, the process exits',
  'within SHUTDOWN_TIMEOUT_SECONDS.',
  '',
  configUsage(),
  '',
].join('\n');

/**
 * Runs the gateway until SIGTERM or SIGINT, then drains and resolves. A configuration error prints one
 * line to stderr and sets `process.exitCode = 2` instead of starting.
 */
export async function serveCommand(argv: string[]): Promise<void> {
  if (handledArguments('serve', argv, serveUsage)) return;
  let config: ReturnType<typeof loadConfig>;
  let logger: Logger;
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    config = loadConfig(process.env);
    logger = createLogger({ level: config.logLevel, file: config.logFile });
    // Start-up failures the operator can fix (port in use, HOST not local, TLS files) are ConfigErrors.
    gateway = await startGateway(config, { logger });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`ws-manager: ${error.message}\n`);
    process.exitCode = 2;
    return;
  }

  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      const deadlineMs = config.shutdownTimeoutSeconds * 1000;
      logger.info({ signal, deadlineMs }, `Received ${signal}: draining`);
      // The safety net: whatever still runs at the deadline, the process ends (unref'd, so it never
      // keeps an otherwise finished process alive).
      const hardStop = setTimeout(() => {
        logger.error({ deadlineMs }, 'Shutdown deadline exceeded: exiting');
        process.exit(1);
      }, deadlineMs);
      hardStop.unref();
      // Leave part of the deadline for closing the upstream and the server after the clients.
      const drainMs = Math.max(0, deadlineMs - Math.min(2000, deadlineMs / 2));
      gateway.shutdown(drainMs).then(
        () => {
          process.exitCode = process.exitCode ?? 0;
          resolve();
        },
        (error: unknown) => {
          logger.error({ err: String(error) }, 'Shutdown failed');
          process.exitCode = 1;
          resolve();
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
