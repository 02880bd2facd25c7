/**
 * Per-client token buckets for the limited HTTP routes (RATE_LIMIT_PER_MINUTE): `perMinute` requests,
 * refilled evenly, so a client that spent its burst waits seconds, not a whole minute. (The exchange's
 * own limits are strict rolling windows instead: rolling-window.ts, which lists every limiter.)
 * Memory stays bounded: the buckets live in a KeyedTable (limits/keyed-table.ts), which caps the
 * addresses tracked and forgets full buckets a few at a time as new addresses come.
 */
import { MINUTE_MS } from './fixed-window.js';
import { KeyedTable } from './keyed-table.js';

export interface RateLimitDecision {
  readonly allowed: boolean;
  /** Whole seconds until one request would be allowed (0 when allowed). */
  readonly retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class RateLimiter {
  private readonly buckets: KeyedTable<Bucket>;
  private readonly refillPerMs: number;

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {
    this.refillPerMs = perMinute / MINUTE_MS;
    this.buckets = new KeyedTable({
      create: (now) => ({ tokens: perMinute, updatedAt: now }),
      idle: (bucket, now) => this.tokensAt(bucket, now) >= perMinute,
    });
  }

  /** Takes one token for `key` if there is one. */
  take(key: string): RateLimitDecision {
    const now = this.now();
    const bucket = this.buckets.entry(key, now);
    if (bucket === undefined) return { allowed: false, retryAfterSeconds: 1 };
    bucket.tokens = this.tokensAt(bucket, now);
    bucket.updatedAt = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true, retryAfterSeconds: 0 };
    }
    return {
      allowed: false,
      retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.refillPerMs / 1000)),
    };
  }

  get size(): number {
    return this.buckets.size;
  }

  private tokensAt(bucket: Bucket, now: number): number {
    return Math.min(this.perMinute, bucket.tokens + (now - bucket.updatedAt) * this.refillPerMs);
  }
}
