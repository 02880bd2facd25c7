/** `ws-manager serve`: configuration from the environment, the gateway, and graceful shutdown on signals. */
import { handledArguments } from './command-args.js';
import { roleUsage, startRole, stopOnSignal } from './role-process.js';
import { startGateway } from './start-gateway.js';

/** The `--help` text of `ws-manager serve`, generated from the configuration table. */
export const serveUsage = roleUsage('serve', [
  'Starts the gateway: GET/HEAD /api/ws/metrics, /healthz, /readyz, the admin API (when ADMIN_TOKEN is set)',
  'and the Binance-compatible WebSocket API (/ws/<stream>, /ws, /stream?streams=a/b, /stream).',
  'Without UPSTREAM_URL it runs an embedded market simulator as the upstream.',
  'SIGTERM or SIGINT drains: readiness answers 503, clients are closed with 1001, the process exits',
  'within SHUTDOWN_TIMEOUT_SECONDS.',
]);

/**
 * Runs the gateway until SIGTERM or SIGINT, then drains and resolves. A configuration error prints one
 * line to stderr and exits with code 2 instead of starting.
 */
export async function serveCommand(argv: string[]): Promise<void> {
  if (handledArguments('serve', argv, serveUsage)) return;
  const started = await startRole((config, logger) => startGateway(config, { logger }));
  const { config, logger, role: gateway } = started;
  await stopOnSignal(logger, async (signal) => {
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
    await gateway.shutdown(Math.max(0, deadlineMs - Math.min(2000, deadlineMs / 2)));
  });
}
