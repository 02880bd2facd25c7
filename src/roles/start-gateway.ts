/**
 * The gateway role: the gateway, taking its streams from NATS (published by ingest nodes) when NATS_URL
 * is set, else from its own upstream connections.
 */
import { startNatsSource } from '../cluster/gateway-source.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import {
  type GatewayRuntimeOptions,
  type RunningGateway,
  startGateway as startGatewayServer,
} from '../gateway/start-gateway.js';

export type { GatewayRuntimeOptions, RunningGateway };

/**
 * Starts the gateway with clustered mode available. `config` overrides the defaults (it does not read the
 * environment; the serve command does that through loadConfig).
 * @throws ConfigError when a value is invalid or a TLS file cannot be read.
 */
export function startGateway(
  config: Partial<GatewayConfig> = {},
  runtime: GatewayRuntimeOptions = {},
): Promise<RunningGateway> {
  return startGatewayServer(config, { clusteredSource: startNatsSource, ...runtime });
}
