/** `ws-manager ingest`: configuration from the environment, an ingest node, and a clean stop on signals. */
import { handledArguments } from './command-args.js';
import { roleUsage, startRole, stopOnSignal } from './role-process.js';
import { startIngest } from './start-ingest.js';

export const ingestUsage = roleUsage('ingest', [
  'Runs an ingest node of the clustered mode (docs/scale-out.md): holds the upstream sockets through',
  'WSManager for the shards it leases and publishes every wanted stream to NATS (NATS_URL, required).',
  'Serves GET/HEAD /api/ws/metrics, /healthz and /readyz on PORT. Without UPSTREAM_URL it runs an',
  'embedded market simulator. SIGTERM or SIGINT releases its leases so other nodes take over at once.',
]);

export async function ingestCommand(argv: string[]): Promise<void> {
  if (handledArguments('ingest', argv, ingestUsage)) return;
  const started = await startRole((config, logger) => startIngest(config, { logger }));
  const { logger, role: ingest } = started;
  await stopOnSignal(logger, (signal) => {
    logger.info({ signal }, `Received ${signal}: releasing leases and stopping`);
    return ingest.close();
  });
}
