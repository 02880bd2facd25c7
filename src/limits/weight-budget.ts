/**
 * A request weight budget per client address (Binance "LIMITS"), enforced by the simulator on its
 * clients and by the gateway on its REST clients: weight is counted in fixed windows aligned to the clock
 * (fixed-window.ts), a request that takes an address over the limit gets 429 with `Retry-After` (the
 * seconds to the window's end), and an address that keeps sending after its 429s is banned with 418,
 * for `banMs`, doubling for repeat offenders up to `longestBanMs`. The venue's numbers are data beside
 * its other facts (Binance's: exchange/binance/weight-budget.ts).
 */
import { FixedWindow, msToWindowEnd } from './fixed-window.js';
import { KeyedTable } from './keyed-table.js';

export interface WeightBudgetOptions {
  readonly limit: number;
  readonly windowMs: number;
  /** Requests an address may still send in a window after its first 429 before it is banned. */
  readonly requestsBeforeBan: number;
  /** First ban of an address; each further ban doubles, up to `longestBanMs`. */
  readonly banMs: number;
  /** @default no longest */
  readonly longestBanMs?: number;
}

export type WeightVerdict =
  | { readonly status: 200; readonly used: number }
  | { readonly status: 429; readonly used: number; readonly retryAfterS: number }
  | { readonly status: 418; readonly used: number; readonly retryAfterS: number; readonly until: number };

/** One address: its weight in the current window, its 429s there, and its bans. */
class AddressWeight extends FixedWindow {
  rejected = 0;
  bannedUntil = 0;
  bans = 0;
}

/** Addresses not seen for this many windows are forgotten (unless banned or offenders before). */
const FORGET_AFTER_WINDOWS = 2;

export class WeightBudget {
  /**
   * Capped and swept a few entries per new address (keyed-table.ts). An address with a ban in force is
   * pinned: eviction at the cap never forgets it, so a banned address cannot shed its ban by making the
   * table fill with other addresses. Offenders whose ban ended are remembered (for the doubling) until
   * the cap evicts them as the longest untouched.
   */
  private readonly addresses: KeyedTable<AddressWeight>;
  private readonly longestBanMs: number;

  constructor(
    private readonly options: WeightBudgetOptions,
    private readonly clock: () => number,
  ) {
    this.longestBanMs = options.longestBanMs ?? Number.POSITIVE_INFINITY;
    this.addresses = new KeyedTable({
      create: (now) => {
        const created = new AddressWeight(options.windowMs);
        created.advance(now);
        return created;
      },
      idle: (s, now) => s.windowsSince(now) >= FORGET_AFTER_WINDOWS && s.bans === 0,
      pinned: (s, now) => now < s.bannedUntil,
    });
  }

  /** Weight one address may use per window. */
  get limit(): number {
    return this.options.limit;
  }

  /** Charges `weight` to `address` and says whether the request may be served. */
  charge(address: string, weight: number): WeightVerdict {
    const now = this.clock();
    const retryAfterS = seconds(msToWindowEnd(now, this.options.windowMs));
    const state = this.addresses.entry(address, now);
    // Every address tracked has a ban in force: a new one waits for the next window.
    if (state === undefined) return { status: 429, used: weight, retryAfterS };
    if (state.advance(now)) state.rejected = 0;
    if (now < state.bannedUntil) {
      return {
        status: 418,
        used: state.used,
        retryAfterS: seconds(state.bannedUntil - now),
        until: state.bannedUntil,
      };
    }
    state.used += weight;
    if (state.used <= this.options.limit) return { status: 200, used: state.used };
    state.rejected++;
    if (state.rejected > this.options.requestsBeforeBan + 1) {
      state.bannedUntil = now + Math.min(this.longestBanMs, this.options.banMs * 2 ** state.bans);
      state.bans++;
      return {
        status: 418,
        used: state.used,
        retryAfterS: seconds(state.bannedUntil - now),
        until: state.bannedUntil,
      };
    }
    return { status: 429, used: state.used, retryAfterS };
  }

  /** Addresses tracked now. */
  get size(): number {
    return this.addresses.size;
  }
}

function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
