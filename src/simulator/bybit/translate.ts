/**
 * The simulated market speaks Binance inside (one generator per Binance stream); Bybit's topics are
 * views of those feeds: the same trades, candles and book, in Bybit's v5 shapes. So a Bybit client and a
 * Binance client of the simulator see one market.
 */
import type { ParsedStream } from '../../exchange/exchange.js';

const KLINE_INTERVALS: Readonly<Record<string, string>> = {
  '1': '1m',
  '3': '3m',
  '5': '5m',
  '15': '15m',
  '30': '30m',
  '60': '1h',
  '120': '2h',
  '240': '4h',
  '360': '6h',
  '720': '12h',
  D: '1d',
  W: '1w',
  M: '1M',
};

/** The Binance interval behind a Bybit kline interval. */
export function binanceInterval(interval: string): string | undefined {
  return KLINE_INTERVALS[interval];
}

/** The internal (Binance) stream a Bybit topic is a view of. */
export function sourceStreamOf(topic: ParsedStream): string {
  const symbol = (topic.symbol ?? '').toLowerCase();
  switch (topic.kind) {
    case 'publicTrade':
      return `${symbol}@trade`;
    case 'orderbook':
      return `${symbol}@depth@100ms`;
    case 'kline':
      return `${symbol}@kline_${binanceInterval(topic.param ?? '1')}`;
    default:
      return `${symbol}@ticker`;
  }
}

interface BinanceTrade {
  E: number;
  s: string;
  t: number;
  p: string;
  q: string;
  T: number;
  m: boolean;
}

/** A trade as `/v5/market/recent-trade` lists it. */
export function tradeRow(payload: string): Record<string, unknown> {
  const t = JSON.parse(payload) as BinanceTrade;
  return {
    execId: String(t.t),
    symbol: t.s,
    price: t.p,
    size: t.q,
    side: t.m ? 'Sell' : 'Buy',
    time: String(t.T),
    isBlockTrade: false,
    isRPITrade: false,
    seq: t.t,
  };
}

/** A `publicTrade` frame of one trade (the buyer being the maker means the taker sold). */
export function tradeFrame(topic: string, payload: string): string {
  const t = JSON.parse(payload) as BinanceTrade;
  return (
    `{"topic":"${topic}","type":"snapshot","ts":${t.E},"data":[{"T":${t.T},"s":"${t.s}",` +
    `"S":"${t.m ? 'Sell' : 'Buy'}","v":"${t.q}","p":"${t.p}","L":"PlusTick","i":"${t.t}","BT":false,"seq":${t.t}}]}`
  );
}

interface BinanceKline {
  E: number;
  k: { t: number; T: number; o: string; c: string; h: string; l: string; v: string; q: string; x: boolean };
}

/** A `kline` frame of one candle update. */
export function klineFrame(topic: string, interval: string, payload: string): string {
  const { E, k } = JSON.parse(payload) as BinanceKline;
  return (
    `{"topic":"${topic}","type":"snapshot","ts":${E},"data":[{"start":${k.t},"end":${k.T},"interval":"${interval}",` +
    `"open":"${k.o}","close":"${k.c}","high":"${k.h}","low":"${k.l}","volume":"${k.v}","turnover":"${k.q}",` +
    `"confirm":${k.x},"timestamp":${E}}]}`
  );
}

/** A kline row as `/v5/market/kline` lists it: start, open, high, low, close, volume, turnover. */
export function klineRow(payload: string): string[] {
  const { k } = JSON.parse(payload) as BinanceKline;
  return [String(k.t), k.o, k.h, k.l, k.c, k.v, k.q];
}

interface BinanceTicker {
  E: number;
  s: string;
  c: string;
  P: string;
  h: string;
  l: string;
  o: string;
  v: string;
  q: string;
}

/** A `tickers` frame: a full snapshot each time (as spot sends; linear's deltas are not simulated). */
export function tickerFrame(topic: string, payload: string): string {
  const t = JSON.parse(payload) as BinanceTicker;
  const pcnt = (Number(t.P) / 100).toFixed(4);
  return (
    `{"topic":"${topic}","type":"snapshot","ts":${t.E},"cs":${t.E},"data":{"symbol":"${t.s}","lastPrice":"${t.c}",` +
    `"highPrice24h":"${t.h}","lowPrice24h":"${t.l}","prevPrice24h":"${t.o}","volume24h":"${t.v}",` +
    `"turnover24h":"${t.q}","price24hPcnt":"${pcnt}"}}`
  );
}
