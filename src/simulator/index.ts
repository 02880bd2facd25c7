/** The Binance-compatible market-data simulator with fault injection: the whole public surface. */
export { Simulator, startSimulator } from './simulator.js';
export type {
  BybitBookView,
  BybitConnectionStats,
  ConnectionStats,
  ConnectionTarget,
  DropOptions,
  MalformedOptions,
  OkxBookView,
  OkxConnectionStats,
  RefuseStatus,
  ShutdownOptions,
  SimulatorLimits,
  SimulatorOptions,
  SimulatorRestLimits,
  SimulatorStats,
} from './types.js';
