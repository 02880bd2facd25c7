/**
 * Stall detection of one open socket. Fast path: a silence long for this connection's own traffic
 * (`SilenceDetector`) is probed with a ping, and an unanswered probe ends the socket; last resort: no
 * traffic at all for the fixed `stallTimeoutMs`.
 */
import { SilenceDetector } from './silence-detector.js';

/** How often liveness is checked: fine enough to notice a busy stream's silence within a second. */
const LIVENESS_TICK_MS = 250;
/**
 * A connection silent for this many of its usual gaps between frames (at least 1 s) is pinged at
 * once; without a pong within the deadline it is replaced. Binance answers a ping with a pong at
 * once ("WebSocket Streams": pong with a copy of the ping payload), so 2 s is generous; the fixed
 * `stallTimeoutMs` stays the last resort for connections too quiet to have a usual gap.
 */
const PROBE_SILENCE_FACTOR = 10;
const PROBE_FLOOR_MS = 1000;
const PROBE_PONG_DEADLINE_MS = 2000;

export interface LivenessProbe {
  /** Sends a probe ping if the pacing window has room; false when it must wait for a later tick. */
  ping(now: number): boolean;
  /** The socket is stalled: end it. */
  stalled(cause: string): void;
}

export class SocketLiveness {
  /** Epoch ms of the last tick that had seen traffic (or of the open): where a stall's silence began. */
  lastActiveAt: number;
  private active = false;
  /** Epoch ms of the liveness ping awaiting its pong. */
  private probeSentAt: number | undefined;
  private readonly silence: SilenceDetector;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly stallTimeoutMs: number,
    private readonly now: () => number,
    private readonly probe: LivenessProbe,
  ) {
    this.lastActiveAt = now();
    const tickMs = Math.max(1, Math.min(LIVENESS_TICK_MS, Math.floor(stallTimeoutMs / 4)));
    this.silence = new SilenceDetector({
      tickMs,
      factor: PROBE_SILENCE_FACTOR,
      floorMs: PROBE_FLOOR_MS,
      alpha: 0.2,
      minSamples: 4,
    });
    this.timer = setInterval(() => this.check(), tickMs);
  }

  /** A data frame arrived: the hot path. */
  frame(): void {
    this.active = true;
    this.probeSentAt = undefined;
    this.silence.frame();
  }

  /** A ping from the server: traffic, though not an event. */
  ping(): void {
    this.active = true;
  }

  pong(): void {
    this.active = true;
    if (this.probeSentAt === undefined) return;
    this.probeSentAt = undefined;
    this.silence.probeAnswered();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    const now = this.now();
    const silence = this.silence;
    const probeDue = silence.tick();
    if (this.active) {
      this.active = false;
      this.lastActiveAt = now;
    } else if (now - this.lastActiveAt >= this.stallTimeoutMs) {
      this.end(`no traffic for ${now - this.lastActiveAt} ms (stall timeout ${this.stallTimeoutMs} ms)`);
      return;
    }
    if (this.probeSentAt !== undefined) {
      if (now - this.probeSentAt >= PROBE_PONG_DEADLINE_MS) {
        this.end(
          `no pong within ${PROBE_PONG_DEADLINE_MS} ms to a probe ping after ${silence.silenceMs} ms without events (usual gap ${Math.round(silence.expectedGapMs() ?? 0)} ms)`,
        );
      }
      return;
    }
    // The probe ping counts against the exchange's 5 frames/s like any frame; when the window is full
    // it goes on a later tick.
    if (probeDue && this.probe.ping(now)) this.probeSentAt = now;
  }

  private end(cause: string): void {
    this.stop();
    this.probe.stalled(cause);
  }
}
