/**
 * What `ws-manager serve` and `ws-manager ingest` share as processes: a --help built from the
 * configuration table, configuration read from the environment (a ConfigError is one line on stderr
 * and exit code 2, never a stack trace), the embedded simulator when no upstream is
 * configured, and one stop on the first SIGTERM or SIGINT.
 */
import type { GatewayConfig } from '../config/gateway-config.js';
import { loadConfig } from '../config/load-config.js';
import { configUsage } from '../config/usage.js';
import { ConfigError } from '../core/errors.js';
import { createLogger, type Logger } from '../core/log.js';
import { listenError } from '../http/http-server.js';
import { type Simulator, startSimulator } from '../simulator/index.js';

export interface StartedRole<T> {
  readonly config: GatewayConfig;
  readonly logger: Logger;
  readonly role: T;
}

/** A role's `--help`: its usage line, what it does, and the configuration table it reads. */
export function roleUsage(command: string, description: readonly string[]): string {
  return [`Usage: ws-manager ${command} [--help]`, '', ...description, '', configUsage(), ''].join('\n');
}

/** Loads the configuration, creates the logger and starts the role; a ConfigError ends the process (exit 2). */
export async function startRole<T>(
  start: (config: GatewayConfig, logger: Logger) => Promise<T>,
): Promise<StartedRole<T>> {
  try {
    const config = loadConfig(process.env);
    const logger = createLogger({ level: config.logLevel, file: config.logFile });
    // Start-up failures the operator can fix (port in use, HOST not local, TLS files) are ConfigErrors.
    return { config, logger, role: await start(config, logger) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`ws-manager: ${error.message}\n`);
    // Exit now: what the failed start left open (the NATS client keeps the socket of a handshake that
    // timed out) would otherwise keep the process running. Writes to pipes and files are synchronous.
    process.exit(2);
  }
}

/** Resolves once the first SIGTERM or SIGINT has run `stop`; a stop that fails is logged and exits 1. */
export function stopOnSignal(logger: Logger, stop: (signal: NodeJS.Signals) => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      stop(signal).then(
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

/** The upstream a role connects to: `upstreamUrl`, or an embedded simulator started on loopback. */
export interface RoleUpstream {
  readonly url: string;
  readonly simulator?: Simulator;
}

/** Starts the embedded simulator when `upstreamUrl` is undefined; SIMULATOR_PORT in use is a ConfigError. */
export async function roleUpstream(
  upstreamUrl: string | undefined,
  cfg: Pick<GatewayConfig, 'simulatorPort' | 'simulatorSymbols' | 'simulatorRate'>,
): Promise<RoleUpstream> {
  if (upstreamUrl !== undefined) return { url: upstreamUrl };
  const simulator = await startSimulator({
    host: '127.0.0.1',
    port: cfg.simulatorPort,
    symbols: [...cfg.simulatorSymbols],
    rate: cfg.simulatorRate,
  }).catch((error: unknown) => {
    throw listenError(error, { SIMULATOR_PORT: cfg.simulatorPort }) ?? error;
  });
  return { url: simulator.url, simulator };
}
