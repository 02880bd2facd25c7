/**
 * Payload types: the stream name selects the type at compile time (the `@ts-expect-error` lines fail the
 * typecheck if a wrong field access were allowed), and at run time the simulator's payloads carry
 * exactly the fields the types declare.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseStreamName } from '../../src/exchange/binance/streams.js';
import type {
  AggTradeEvent,
  AvgPriceEvent,
  BookTickerEvent,
  DepthUpdateEvent,
  KlineEvent,
  MiniTickerEvent,
  PartialDepthEvent,
  RollingTickerEvent,
  StreamPayload,
  TickerEvent,
  TradeEvent,
  WSManager,
} from '../../src/index.js';
import { createGenerator } from '../../src/simulator/generators/event-generator.js';
import { PAYLOAD_FIELDS as FIELDS, KLINE_FIELDS } from '../support/payload-fields.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const expectType = <T extends true>(_ok: T): void => {};

expectType<Equal<StreamPayload<'btcusdt@trade'>, TradeEvent>>(true);
expectType<Equal<StreamPayload<'btcusdt@aggTrade'>, AggTradeEvent>>(true);
expectType<Equal<StreamPayload<'btcusdt@bookTicker'>, BookTickerEvent>>(true);
expectType<Equal<StreamPayload<'btcusdt@miniTicker'>, MiniTickerEvent>>(true);
expectType<Equal<StreamPayload<'btcusdt@ticker'>, TickerEvent>>(true);
expectType<Equal<StreamPayload<'btcusdt@ticker_4h'>, RollingTickerEvent>>(true);
expectType<Equal<StreamPayload<'btcusdt@avgPrice'>, AvgPriceEvent>>(true);
expectType<Equal<StreamPayload<'btcusdt@kline_1m'>, KlineEvent>>(true);
expectType<Equal<StreamPayload<'btcusdt@depth'>, DepthUpdateEvent>>(true);
expectType<Equal<StreamPayload<'btcusdt@depth@100ms'>, DepthUpdateEvent>>(true);
expectType<Equal<StreamPayload<'btcusdt@depth20@100ms'>, PartialDepthEvent>>(true);
expectType<Equal<StreamPayload<'!miniTicker@arr'>, MiniTickerEvent[]>>(true);
expectType<Equal<StreamPayload<'btcusdt@somethingElse'>, unknown>>(true);
expectType<Equal<StreamPayload<string>, unknown>>(true);

/** Compiled, never called: what a user of WSManager writes. */
export function typedSubscribers(manager: WSManager): void {
  manager.subscribe('btcusdt@trade', (t) => t.p.toUpperCase());
  manager.subscribe('ethusdt@kline_1m', { next: (k) => k.k.x === true });
  manager.subscribe('btcusdt@depth5', (d) => d.bids[0]?.[0]);
  // @ts-expect-error a trade has no `b` field
  manager.subscribe('btcusdt@trade', (t) => t.b);
  // @ts-expect-error prices are decimal strings, not numbers
  manager.subscribe('btcusdt@aggTrade', (t) => t.p.toFixed(2));
  const dynamic: string = 'btcusdt@trade';
  // @ts-expect-error an unknown name gives `unknown`, which must be narrowed first
  manager.subscribe(dynamic, (t) => t.p);
}

describe('payload types', () => {
  it('match the fields of every simulator payload', () => {
    const now = Date.now();
    for (const [stream, fields] of Object.entries(FIELDS)) {
      const generator = createGenerator(parseStreamName(stream)!, 1, ['btcusdt'], now);
      const payload = JSON.parse(generator.next(now)) as Record<string, unknown>;
      assert.deepEqual(Object.keys(payload).sort(), [...fields].sort(), stream);
    }
    const kline = createGenerator(parseStreamName('btcusdt@kline_1m')!, 1, ['btcusdt'], now);
    const k = (JSON.parse(kline.next(now)) as { k: Record<string, unknown> }).k;
    assert.deepEqual(Object.keys(k).sort(), [...KLINE_FIELDS].sort());
    const all = createGenerator(parseStreamName('!miniTicker@arr')!, 1, ['btcusdt', 'ethusdt'], now);
    const list = JSON.parse(all.next(now)) as Record<string, unknown>[];
    assert.ok(list.length > 0);
    for (const item of list)
      assert.deepEqual(Object.keys(item).sort(), [...FIELDS['btcusdt@miniTicker']!].sort());
  });
});
