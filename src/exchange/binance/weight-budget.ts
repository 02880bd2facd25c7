/**
 * A per-IP request weight budget (Binance "LIMITS"), enforced by the simulator on its clients and by the
 * gateway on its REST clients: weight is counted in fixed
 * windows aligned to the clock (the `X-MBX-USED-WEIGHT-1M` counter resets at each minute), a request that
 * takes an IP over the limit gets 429 with `Retry-After` (the seconds to the window's end), and an IP that
 * keeps sending after its 429s is banned with 418, for 2 minutes, doubling for repeat offenders up to 3 days.
 */
import { KeyedTable } from '../../limits/keyed-table.js';
import { FIRST_BAN_MS, LONGEST_BAN_MS, REQUEST_WEIGHT_PER_MINUTE } from './rest-limits.js';

export interface WeightBudgetOptions {
  readonly limit: number;
  readonly windowMs: number;
  /** Requests an IP may still send in a window after its first 429 before it is banned. */
  readonly requestsBeforeBan: number;
  readonly banMs: number;
}

export type WeightVerdict =
  | { readonly status: 200; readonly used: number }
  | { readonly status: 429; readonly used: number; readonly retryAfterS: number }
  | { readonly status: 418; readonly used: number; readonly retryAfterS: number; readonly until: number };

interface IpState {
  window: number;
  used: number;
  rejected: number;
  bannedUntil: number;
  bans: number;
}

/** IPs not seen for this many windows are forgotten (unless banned or offenders before). */
const FORGET_AFTER_WINDOWS = 2;

export class WeightBudget {
  /**
   * Capped and swept a few entries per new IP (limits/keyed-table.ts). An IP with a ban in force is
   * pinned: eviction at the cap never forgets it, so a banned IP cannot shed its ban by making the
   * table fill with other addresses. Offenders whose ban ended are remembered (for the doubling) until
   * the cap evicts them as the longest untouched.
   */
  private readonly ips: KeyedTable<IpState>;

  constructor(
    private readonly options: WeightBudgetOptions,
    private readonly clock: () => number,
  ) {
    const windowOf = (now: number) => Math.floor(now / options.windowMs);
    this.ips = new KeyedTable({
      create: (now) => ({ window: windowOf(now), used: 0, rejected: 0, bannedUntil: 0, bans: 0 }),
      idle: (s, now) => windowOf(now) - s.window >= FORGET_AFTER_WINDOWS && s.bans === 0,
      pinned: (s, now) => now < s.bannedUntil,
    });
  }

  /** Charges `weight` to `ip` and says whether the request may be served. */
  charge(ip: string, weight: number): WeightVerdict {
    const now = this.clock();
    const window = Math.floor(now / this.options.windowMs);
    const retryAfterS = seconds((window + 1) * this.options.windowMs - now);
    const state = this.stateOf(ip, now, window);
    // Every address tracked has a ban in force: a new one waits for the next window.
    if (state === undefined) return { status: 429, used: weight, retryAfterS };
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
      state.bannedUntil = now + Math.min(LONGEST_BAN_MS, this.options.banMs * 2 ** state.bans);
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

  private stateOf(ip: string, now: number, window: number): IpState | undefined {
    const state = this.ips.entry(ip, now);
    if (state !== undefined && state.window !== window) {
      state.window = window;
      state.used = 0;
      state.rejected = 0;
    }
    return state;
  }

  /** IPs tracked now. */
  get size(): number {
    return this.ips.size;
  }
}

function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** Binance's own budget: 6000 weight per IP per minute, 418 after 5 more requests past a 429, bans from 2 minutes. */
export const BINANCE_WEIGHT_BUDGET: WeightBudgetOptions = Object.freeze({
  limit: REQUEST_WEIGHT_PER_MINUTE,
  windowMs: 60_000,
  requestsBeforeBan: 5,
  banMs: FIRST_BAN_MS,
});
