/**
 * A per-IP request weight budget (Binance "LIMITS"), enforced by the simulator on its clients and by the
 * gateway on its REST clients: weight is counted in fixed
 * windows aligned to the clock (the `X-MBX-USED-WEIGHT-1M` counter resets at each minute), a request that
 * takes an IP over the limit gets 429 with `Retry-After` (the seconds to the window's end), and an IP that
 * keeps sending after its 429s is banned with 418, for 2 minutes, doubling for repeat offenders up to 3 days.
 */
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

/** IPs not seen for this many windows are forgotten (unless banned), so the map stays small. */
const FORGET_AFTER_WINDOWS = 2;
/** A hard cap on the IPs tracked (the oldest is dropped), for a server facing very many addresses. */
const MAX_IPS = 100_000;

export class WeightBudget {
  private readonly ips = new Map<string, IpState>();
  /** The window of the last sweep: forgotten IPs are swept once per window, not on each new IP. */
  private sweptWindow = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly options: WeightBudgetOptions,
    private readonly clock: () => number,
  ) {}

  /** Charges `weight` to `ip` and says whether the request may be served. */
  charge(ip: string, weight: number): WeightVerdict {
    const now = this.clock();
    const window = Math.floor(now / this.options.windowMs);
    const state = this.stateOf(ip, window);
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
    return {
      status: 429,
      used: state.used,
      retryAfterS: seconds((window + 1) * this.options.windowMs - now),
    };
  }

  private stateOf(ip: string, window: number): IpState {
    if (window !== this.sweptWindow) {
      this.sweptWindow = window;
      this.forget(window);
    }
    let state = this.ips.get(ip);
    if (state === undefined) {
      if (this.ips.size >= MAX_IPS) this.ips.delete(this.ips.keys().next().value as string);
      state = { window, used: 0, rejected: 0, bannedUntil: 0, bans: 0 };
      this.ips.set(ip, state);
    } else if (state.window !== window) {
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

  private forget(window: number): void {
    const now = this.clock();
    for (const [ip, s] of this.ips) {
      if (window - s.window >= FORGET_AFTER_WINDOWS && s.bannedUntil <= now && s.bans === 0)
        this.ips.delete(ip);
    }
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
