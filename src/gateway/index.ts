/** The gateway: HTTP metrics/health/admin routes and the Binance-compatible downstream WebSocket. */

export type { GatewayConfig } from '../config/gateway-config.js';
export { CloseCodes } from '../core/close-codes.js';
export { type GatewayRuntimeOptions, type RunningGateway, startGateway } from './start-gateway.js';
