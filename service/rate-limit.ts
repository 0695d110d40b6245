import type { RequestHandler } from 'express';

import { tenantOf } from './auth';
import type { Clock } from './clock';
import { ApiError } from './errors';

/**
 * Token buckets by key: each key may spend `perMinute` requests in a burst, refilled evenly over
 * the minute. Full buckets are dropped now and then, so memory follows the active keys only.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly refillPerMs: number;
  private takesSinceSweep = 0;

  constructor(
    private readonly perMinute: number,
    private readonly clock: Clock,
  ) {
    this.refillPerMs = perMinute / 60_000;
  }

  /** Spends one request for `key`; returns 0 when allowed, else the seconds to wait. */
  take(key: string): number {
    const now = this.clock.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.perMinute, at: now };
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + (now - bucket.at) * this.refillPerMs);
    bucket.at = now;
    this.buckets.set(key, bucket);
    this.sweepSometimes(now);

    if (bucket.tokens < 1) {
      return Math.max(1, Math.ceil((1 - bucket.tokens) / this.refillPerMs / 1000));
    }
    bucket.tokens -= 1;
    return 0;
  }

  private sweepSometimes(now: number): void {
    this.takesSinceSweep += 1;
    if (this.takesSinceSweep < 10_000) {
      return;
    }
    this.takesSinceSweep = 0;
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.at) * this.refillPerMs >= this.perMinute) {
        this.buckets.delete(key);
      }
    }
  }
}

/** Per-tenant request limit; `perMinute` 0 turns it off. Runs after authentication. */
export function rateLimitByTenant(perMinute: number, clock: Clock): RequestHandler {
  if (perMinute === 0) {
    return (_req, _res, next) => next();
  }

  const limiter = new RateLimiter(perMinute, clock);
  return (_req, res, next) => {
    const retryAfter = limiter.take(tenantOf(res.locals));
    if (retryAfter > 0) {
      throw new ApiError('RATE_LIMITED', 'Too many requests for this tenant; slow down.', {
        retryAfter,
      });
    }
    next();
  };
}
