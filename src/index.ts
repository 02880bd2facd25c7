/**
 * ws-manager's public surface: the WSManager library, the gateway and the simulator.
 * Everything not exported here is internal.
 */

export { type GatewayConfig, type RunningGateway, startGateway } from './gateway/index.js';
export { LegacyStreamSource } from './legacy/index.js';
export * from './manager/index.js';
export { Simulator, type SimulatorOptions, type SimulatorStats, startSimulator } from './simulator/index.js';
