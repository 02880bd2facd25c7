/**
 * Payload types of the Binance spot market streams, field for field as the exchange sends them
 * (Binance "WebSocket Streams" documentation: Trade, Aggregate Trade, Kline/Candlestick, Individual
 * Symbol Mini Ticker, All Market Mini Tickers, Individual Symbol Ticker, Rolling Window Statistics,
 * Book Ticker, Average Price, Partial Book Depth, Diff. Depth). Prices and quantities stay decimal
 * strings, as sent: converting them to numbers would lose digits.
 *
 * `StreamPayload<'btcusdt@trade'>` is `TradeEvent`: the stream name selects the payload type, so
 * `manager.subscribe('btcusdt@trade', (t) => t.p)` type-checks. Names the mapping does not know give
 * `unknown`.
 */

/** A decimal number as a string, e.g. `"65000.01000000"`. */
export type Decimal = string;
/** `[price, quantity]` of one order-book level. */
export type BookLevel = [Decimal, Decimal];

/** `<symbol>@trade` */
export interface TradeEvent {
  e: 'trade';
  /** Event time (ms). */
  E: number;
  s: string;
  /** Trade id. */
  t: number;
  p: Decimal;
  q: Decimal;
  /** Trade time (ms). */
  T: number;
  /** Is the buyer the market maker? */
  m: boolean;
  /** Ignore. */
  M: boolean;
}

/** `<symbol>@aggTrade` */
export interface AggTradeEvent {
  e: 'aggTrade';
  E: number;
  s: string;
  /** Aggregate trade id. */
  a: number;
  p: Decimal;
  q: Decimal;
  /** First and last trade id. */
  f: number;
  l: number;
  T: number;
  m: boolean;
  M: boolean;
}

/** `<symbol>@bookTicker` */
export interface BookTickerEvent {
  /** Order book update id. */
  u: number;
  s: string;
  /** Best bid price and quantity. */
  b: Decimal;
  B: Decimal;
  /** Best ask price and quantity. */
  a: Decimal;
  A: Decimal;
}

/** The prices and volumes every ticker stream carries for its window. */
interface TickerPrices {
  E: number;
  s: string;
  /** Close (last), open, high, low price. */
  c: Decimal;
  o: Decimal;
  h: Decimal;
  l: Decimal;
  /** Base and quote asset volume. */
  v: Decimal;
  q: Decimal;
}

/** `<symbol>@miniTicker`, and each element of `!miniTicker@arr` */
export interface MiniTickerEvent extends TickerPrices {
  e: '24hrMiniTicker';
}

/** `!miniTicker@arr`: the mini tickers that changed. */
export type AllMiniTickersEvent = MiniTickerEvent[];

/** The window statistics both full ticker streams carry. */
interface TickerWindow extends TickerPrices {
  /** Price change and percent. */
  p: Decimal;
  P: Decimal;
  /** Weighted average price. */
  w: Decimal;
  /** Statistics open and close time (ms). */
  O: number;
  C: number;
  /** First and last trade id, and trade count. */
  F: number;
  L: number;
  n: number;
}

/** `<symbol>@ticker` */
export interface TickerEvent extends TickerWindow {
  e: '24hrTicker';
  /** First trade before the window. */
  x: Decimal;
  /** Last quantity; best bid and ask with their quantities. */
  Q: Decimal;
  b: Decimal;
  B: Decimal;
  a: Decimal;
  A: Decimal;
}

/** `<symbol>@ticker_<1h|4h|1d>` */
export interface RollingTickerEvent extends TickerWindow {
  e: '1hTicker' | '4hTicker' | '1dTicker';
}

/** `<symbol>@avgPrice` */
export interface AvgPriceEvent {
  e: 'avgPrice';
  E: number;
  s: string;
  /** Average price interval, e.g. `"5m"`. */
  i: string;
  /** Average price. */
  w: Decimal;
  /** Last trade time (ms). */
  T: number;
}

/** `<symbol>@kline_<interval>` */
export interface KlineEvent {
  e: 'kline';
  E: number;
  s: string;
  k: {
    /** Candle open and close time (ms). */
    t: number;
    T: number;
    s: string;
    i: string;
    /** First and last trade id. */
    f: number;
    L: number;
    o: Decimal;
    c: Decimal;
    h: Decimal;
    l: Decimal;
    v: Decimal;
    /** Number of trades. */
    n: number;
    /** Is this candle closed? */
    x: boolean;
    q: Decimal;
    /** Taker buy base and quote volume. */
    V: Decimal;
    Q: Decimal;
    /** Ignore. */
    B: string;
  };
}

/** `<symbol>@depth` and `<symbol>@depth@100ms` */
export interface DepthUpdateEvent {
  e: 'depthUpdate';
  E: number;
  s: string;
  /** First and final update id in the event. */
  U: number;
  u: number;
  b: BookLevel[];
  a: BookLevel[];
}

/** `<symbol>@depth<5|10|20>` and `<symbol>@depth<levels>@100ms` */
export interface PartialDepthEvent {
  lastUpdateId: number;
  bids: BookLevel[];
  asks: BookLevel[];
}

/** The payload type of a stream, selected by its name; `unknown` for names it does not know. */
export type StreamPayload<S extends string> = S extends '!miniTicker@arr'
  ? AllMiniTickersEvent
  : S extends `${string}@${infer Kind}`
    ? PayloadOfKind<Kind>
    : unknown;

type PayloadOfKind<K extends string> = K extends 'trade'
  ? TradeEvent
  : K extends 'aggTrade'
    ? AggTradeEvent
    : K extends 'bookTicker'
      ? BookTickerEvent
      : K extends 'miniTicker'
        ? MiniTickerEvent
        : K extends 'ticker'
          ? TickerEvent
          : K extends 'avgPrice'
            ? AvgPriceEvent
            : K extends `kline_${string}`
              ? KlineEvent
              : K extends `ticker_${string}`
                ? RollingTickerEvent
                : K extends 'depth' | 'depth@100ms' | 'depth@1000ms'
                  ? DepthUpdateEvent
                  : K extends `depth${5 | 10 | 20}` | `depth${5 | 10 | 20}@${string}`
                    ? PartialDepthEvent
                    : unknown;
