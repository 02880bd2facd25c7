/**
 * Unified symbols on OKX v5: spot `BTC/USDT` ⇄ `BTC-USDT`, perpetuals `BTC/USDT:USDT` ⇄ `BTC-USDT-SWAP`
 * (linear, settled in the quote) and `BTC/USD:BTC` ⇄ `BTC-USD-SWAP` (inverse, settled in the base),
 * dated futures `BTC/USD:BTC-250627` ⇄ `BTC-USD-250627`. The instrument id carries its parts, so no
 * quote list is needed; options are not mapped.
 */
import type { VenueSymbol } from '../exchange.js';
import { accepted, parseUnified, rejected, UNIFIED_RULE } from '../unified-symbol.js';
import { isInstId } from './streams.js';

/** OKX settles `-USD-` contracts in the base currency (inverse) and the others in the quote. */
function settleOf(base: string, quote: string): string {
  return quote === 'USD' ? base : quote;
}

export function toOkxInstId(symbol: string): VenueSymbol {
  const unified = parseUnified(symbol);
  if (unified === undefined) return rejected(`symbol must be ${UNIFIED_RULE}`);
  const { base, quote, settle, expiry } = unified;
  let instId = `${base}-${quote}`;
  if (settle !== undefined) {
    if (settle !== settleOf(base, quote)) {
      return rejected(
        `OKX settles ${base}-${quote} contracts in ${settleOf(base, quote)}; "${symbol}" names ${settle}`,
      );
    }
    instId += expiry === undefined ? '-SWAP' : `-${expiry}`;
  }
  return isInstId(instId) ? accepted(instId) : rejected(`"${instId}" is not an OKX instrument id`);
}

export function fromOkxInstId(instId: string): string | undefined {
  if (!isInstId(instId)) return undefined;
  const [base, quote, kind, ...rest] = instId.split('-');
  if (base === undefined || quote === undefined || rest.length > 0) return undefined;
  if (kind === undefined) return `${base}/${quote}`;
  const settle = settleOf(base, quote);
  if (kind === 'SWAP') return `${base}/${quote}:${settle}`;
  return /^\d{6}$/.test(kind) ? `${base}/${quote}:${settle}-${kind}` : undefined;
}
