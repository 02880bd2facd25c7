/**
 * Tells when a connection has been silent for much longer than its own traffic makes normal, so it
 * can be probed with a ping at once instead of waiting for the fixed stall timeout.
 *
 * The socket counts frames (`frame()`, one increment on the hot path) and calls `tick()` every
 * `tickMs`. Each tick that saw frames gives a rate sample (frames over the time since the previous
 * sample, so sparse streams are not over-estimated); an exponentially weighted moving average of the
 * samples is the expected rate. Silent ticks do not update it: the silence is what is being judged.
 * A probe is due once the silence reaches `factor` expected gaps, and never below `floorMs`. A probe
 * that was answered doubles the threshold until frames flow again, so a market that really went
 * quiet costs a few pings, not one per second.
 */

export interface SilenceDetectorOptions {
  /** How often `tick()` is called. */
  readonly tickMs: number;
  /** Silence, in expected gaps between frames, that makes a probe due. */
  readonly factor: number;
  /** Shortest silence that makes a probe due, whatever the rate. */
  readonly floorMs: number;
  /** Weight of the newest sample in the moving average (0 to 1). */
  readonly alpha: number;
  /** Samples needed before the rate is trusted; until then only the fixed stall timeout applies. */
  readonly minSamples: number;
}

export class SilenceDetector {
  private frames = 0;
  private ticksSinceSample = 0;
  /** Expected frames per millisecond; undefined before the first sample. */
  private rate: number | undefined;
  private samples = 0;
  private silentMs = 0;
  private backoff = 1;

  constructor(private readonly opts: SilenceDetectorOptions) {}

  /** Counts one received frame. */
  frame(): void {
    this.frames++;
  }

  /** Advances by one tick; true when the silence so far calls for a probe. */
  tick(): boolean {
    this.ticksSinceSample++;
    if (this.frames > 0) {
      const sample = this.frames / (this.ticksSinceSample * this.opts.tickMs);
      this.rate =
        this.rate === undefined ? sample : this.opts.alpha * sample + (1 - this.opts.alpha) * this.rate;
      this.samples++;
      this.frames = 0;
      this.ticksSinceSample = 0;
      this.silentMs = 0;
      this.backoff = 1;
      return false;
    }
    this.silentMs += this.opts.tickMs;
    return this.silentMs >= this.thresholdMs();
  }

  /** A probe was answered: the connection lives, the stream is just quiet. Waits longer before the next. */
  probeAnswered(): void {
    this.silentMs = 0;
    this.backoff *= 2;
  }

  /** Silence so far, in milliseconds (tick precision). */
  get silenceMs(): number {
    return this.silentMs;
  }

  /** Expected milliseconds between frames; undefined until the rate is trusted. */
  expectedGapMs(): number | undefined {
    if (this.rate === undefined || this.rate === 0 || this.samples < this.opts.minSamples) return undefined;
    return 1 / this.rate;
  }

  /** Silence that makes a probe due now (Infinity while the rate is not trusted). */
  thresholdMs(): number {
    const gap = this.expectedGapMs();
    if (gap === undefined) return Number.POSITIVE_INFINITY;
    return Math.max(this.opts.floorMs, this.opts.factor * gap) * this.backoff;
  }
}
