/** `ws-manager ingest`: configuration from the environment, an ingest node, and a clean stop on signals. */
import { handledArguments } from '../command-args.js';
import { loadConfig } from '../config/load-config.js';
import { configUsage } from '../config/usage.js';
import { ConfigError } from '../errors.js';
import { createLogger } from '../log.js';
import { startIngest } from './start-ingest.js';

export const ingestUsage = [
  'Usage: ws-manager ingest [--help]',
  '',
  'Runs an ingest node of the clustered mode (docs/scale-out.md): holds the upstream sockets through',
  'WSManager for the shards it leases and publishes every wanted stream to NATS (NATS_URL, required).',
  'Serves GET/HEAD /api/ws/metrics, /healthz and /readyz on PORT. Without UPSTREAM_URL it runs an',
  'embedded market simulator. SIGTERM or SIGINT releases its leases so other nodes take over at once.',
  '',
  configUsage(),
  '',
].join('\n');

export async function ingestCommand(argv: string[]): Promise<void> {
  if (handledArguments('ingest', argv, ingestUsage)) return;
  let ingest: Awaited<ReturnType<typeof startIngest>>;
  let logger: ReturnType<typeof createLogger>;
  try {
    const config = loadConfig(process.env);
    logger = createLogger({ level: config.logLevel, file: config.logFile });
    ingest = await startIngest(config, { logger });
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
      logger.info({ signal }, `Received ${signal}: releasing leases and stopping`);
      ingest.close().then(
        () => resolve(),
        (error: unknown) => {
          logger.error({ err: String(error) }, 'Stop failed');
          process.exitCode = 1;
          resolve();
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
