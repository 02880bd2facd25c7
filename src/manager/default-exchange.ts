/**
 * The venue a manager reads when its options name none, and the typed payloads of its streams: the one
 * place the manager names Binance.
 */
import { binance } from '../exchange/binance/index.js';
import type { Exchange } from '../exchange/exchange.js';

export const DEFAULT_EXCHANGE: Exchange = binance;
/** The payload type of stream `S` in `WSManager.subscribe` (Binance's stream grammar). */
export type { StreamPayload as DefaultStreamPayload } from '../exchange/binance/payloads.js';

/** The venue whose stream names `source` takes: its own when it says (a WSManager), else the default. */
export function exchangeOf(source: object): Exchange {
  const own = (source as { exchange?: unknown }).exchange;
  return typeof own === 'object' && own !== null ? (own as Exchange) : DEFAULT_EXCHANGE;
}
