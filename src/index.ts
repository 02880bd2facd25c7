/**
 * ws-manager's public surface: the WSManager library, the gateway and the simulator.
 * Everything not exported here is internal.
 */

// Straight from the defining modules: gateway/index.js also re-exports internals whose declarations
// reference `ws` types, and @types/ws is not a dependency of consumers.
export type { GatewayConfig } from './config/gateway-config.js';
export { createLogger, type Logger, type LoggerOptions } from './core/log.js';
export { binance } from './exchange/binance/index.js';
export type * from './exchange/binance/payloads.js';
export {
  type BybitMarket,
  type BybitPublicTrade,
  type BybitPublicTradeEnvelope,
  bybitLinear,
  bybitSpot,
  type RecentTradesRefill,
  refillRecentTrades,
  type TradeMark,
} from './exchange/bybit/index.js';
export type {
  BookDiff,
  BookSnapshot,
  BookStep,
  ControlCodec,
  ControlMethod,
  Endpoints,
  Exchange,
  ExchangeError,
  ExchangeLimits,
  FrameCodec,
  FrameHandler,
  HeartbeatPolicy,
  HistoryProcedure,
  MarketView,
  OrderBookProcedure,
  ParsedStream,
  RefillResult,
  RestAnswer,
  RestGetter,
  SequencePolicy,
  SequenceRange,
  SequenceRule,
  StreamCodec,
  Trade,
  TradeSink,
  VenueSymbol,
} from './exchange/exchange.js';
export { type OkxTrade, type OkxTradesPush, okx } from './exchange/okx/index.js';
export { LegacyStreamSource } from './legacy/index.js';
export * from './manager/index.js';
export { type GatewayRuntimeOptions, type RunningGateway, startGateway } from './roles/start-gateway.js';
export { Simulator, type SimulatorOptions, type SimulatorStats, startSimulator } from './simulator/index.js';
