/**
 * OKX channels of the simulator are views of its internal (Binance-shaped) feeds: the same trades,
 * candles and book in OKX's v5 shapes, so an OKX client and a Binance client of the simulator see one
 * market. An instrument maps to the internal symbol by its first two parts: `BTC-USDT` and
 * `BTC-USDT-SWAP` both view `btcusdt`.
 */
import type { ParsedStream } from '../../exchange/exchange.js';

const BARS: Readonly<Record<string, string>> = {
  '1m': '1m',
  '3m': '3m',
  '5m': '5m',
  '15m': '15m',
  '30m': '30m',
  '1H': '1h',
  '2H': '2h',
  '4H': '4h',
  '6H': '6h',
  '12H': '12h',
  '1D': '1d',
  '1W': '1w',
  '1M': '1M',
};

/** The Binance interval behind an OKX bar, or undefined when the simulator has none. */
export function binanceInterval(bar: string): string | undefined {
  return BARS[bar.replace(/utc$/, '')];
}

/** The internal symbol of an instrument: `BTC-USDT` → `btcusdt`. */
export function internalSymbol(instId: string): string {
  const [base = '', quote = ''] = instId.split('-');
  return `${base}${quote}`.toLowerCase();
}

/** The instrument of an internal symbol: `btcusdt` → `BTC-USDT`. */
export function instIdOf(symbol: string): string {
  const upper = symbol.toUpperCase();
  const quote =
    ['USDT', 'USDC', 'BTC', 'ETH'].find((q) => upper.endsWith(q) && upper.length > q.length) ?? 'USDT';
  return `${upper.slice(0, upper.length - quote.length)}-${quote}`;
}

/** The internal stream an OKX channel is a view of; undefined when the simulator does not have it. */
export function sourceStreamOf(channel: ParsedStream): string | undefined {
  const symbol = internalSymbol(channel.symbol ?? '');
  switch (channel.kind) {
    case 'trades':
      return `${symbol}@trade`;
    case 'books':
    case 'books5':
    case 'bbo-tbt':
      return `${symbol}@depth@100ms`;
    case 'tickers':
      return `${symbol}@ticker`;
    case 'candle': {
      const interval = binanceInterval(channel.param ?? '');
      return interval === undefined ? undefined : `${symbol}@kline_${interval}`;
    }
    default:
      return undefined;
  }
}

interface BinanceTrade {
  t: number;
  p: string;
  q: string;
  T: number;
  m: boolean;
}

/** A trade as the `trades` channel and `/api/v5/market/(history-)trades` list it (one fill each). */
export function tradeItem(instId: string, payload: string): Record<string, string> {
  const t = JSON.parse(payload) as BinanceTrade;
  // The buyer being the maker means the taker sold.
  return {
    instId,
    tradeId: String(t.t),
    px: t.p,
    sz: t.q,
    side: t.m ? 'sell' : 'buy',
    ts: String(t.T),
    count: '1',
  };
}

export function tradeFrame(instId: string, payload: string): string {
  return `{"arg":{"channel":"trades","instId":"${instId}"},"data":[${JSON.stringify(tradeItem(instId, payload))}]}`;
}

interface BinanceKline {
  k: { t: number; o: string; c: string; h: string; l: string; v: string; q: string; x: boolean };
}

/** A candle row: ts, open, high, low, close, volume, volume in quote, volume in quote (spot), confirm. */
export function candleRow(payload: string): string[] {
  const { k } = JSON.parse(payload) as BinanceKline;
  return [String(k.t), k.o, k.h, k.l, k.c, k.v, k.q, k.q, k.x ? '1' : '0'];
}

export function candleFrame(channel: string, instId: string, payload: string): string {
  return `{"arg":{"channel":"${channel}","instId":"${instId}"},"data":[${JSON.stringify(candleRow(payload))}]}`;
}

interface BinanceTicker {
  E: number;
  c: string;
  h: string;
  l: string;
  o: string;
  v: string;
  q: string;
}

export function tickerFrame(instId: string, payload: string): string {
  const t = JSON.parse(payload) as BinanceTicker;
  return (
    `{"arg":{"channel":"tickers","instId":"${instId}"},"data":[{"instType":"SPOT","instId":"${instId}",` +
    `"last":"${t.c}","open24h":"${t.o}","high24h":"${t.h}","low24h":"${t.l}","vol24h":"${t.v}",` +
    `"volCcy24h":"${t.q}","ts":"${t.E}"}]}`
  );
}
