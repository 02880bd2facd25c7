/** The market-data simulator (Binance, Bybit and OKX dialects) with fault injection: the whole public surface. */
export { Simulator, startSimulator } from './simulator.js';
// types.ts holds the simulator's public types only.
export type * from './types.js';
