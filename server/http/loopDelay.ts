import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

/** How long callbacks waited for the event loop, in ms: over the last full minute and since start. */
export interface LoopDelayReport {
  lastMinute: { max: number; p99: number; mean: number } | null;
  sinceStart: { max: number; p99: number; mean: number };
  /** Minutes since start with a delay over 100 ms (the bound no background job may pass). */
  minutesOver100ms: number;
}

const ms = (ns: number) => Math.round(ns / 1e4) / 100;
const summary = (h: IntervalHistogram) => ({ max: ms(h.max), p99: ms(h.percentile(99)), mean: ms(h.mean) });

/**
 * The event loop's delay, sampled by node (`perf_hooks.monitorEventLoopDelay`, 10 ms
 * resolution) and reported on `/healthz?verbose`: a snapshot, a mail pass, a round sweep or a
 * packing that held the loop shows here as a delay every request waiting meanwhile paid.
 * Owned by the server process (main.ts); `stop()` ends the sampling.
 */
export class LoopDelay {
  private readonly total = monitorEventLoopDelay({ resolution: 10 });
  private readonly minute = monitorEventLoopDelay({ resolution: 10 });
  private last: LoopDelayReport['lastMinute'] = null;
  private over = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(everyMs = 60_000) {
    this.total.enable();
    this.minute.enable();
    this.timer = setInterval(() => this.roll(), everyMs);
    this.timer.unref();
  }

  /** Close the current minute: it becomes `lastMinute`, and a new one starts. */
  roll(): void {
    this.last = summary(this.minute);
    if (this.last.max > 100) this.over++;
    this.minute.reset();
  }

  report(): LoopDelayReport {
    return { lastMinute: this.last, sinceStart: summary(this.total), minutesOver100ms: this.over };
  }

  stop(): void {
    clearInterval(this.timer);
    this.total.disable();
    this.minute.disable();
  }
}
