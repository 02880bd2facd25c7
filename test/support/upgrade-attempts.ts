/**
 * Upgrade attempts as the simulator sees them, with the time span each happened in: the simulator's
 * attempt counter is polled every few milliseconds, so an attempt first counted at poll `seenBy` was
 * made after the previous poll `after`. Bounds, not guesses: a busy event loop widens them, never
 * shifts them. So "B came at least N ms after A" is shown by `B.seenBy >= A.after + N`: A's refusal
 * reached the client after `A.after`, and B was counted by `B.seenBy`.
 */
import type { Simulator } from '../../src/simulator/index.js';

export interface SeenAttempt {
  /** The attempt was made after this (epoch ms of the previous poll). */
  readonly after: number;
  /** ... and by this (epoch ms of the poll that counted it). */
  readonly seenBy: number;
}

export interface AttemptRecorder {
  readonly attempts: SeenAttempt[];
  stop(): void;
}

export function recordUpgradeAttempts(simulator: Simulator, pollMs = 5): AttemptRecorder {
  const attempts: SeenAttempt[] = [];
  let count = simulator.stats().connectionAttempts;
  let last = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    const seen = simulator.stats().connectionAttempts;
    for (; count < seen; count++) attempts.push({ after: last, seenBy: now });
    last = now;
  }, pollMs);
  return { attempts, stop: () => clearInterval(timer) };
}
