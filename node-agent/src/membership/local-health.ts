import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** How far back a stall of this process still counts. */
const WINDOW_MS = 5000;
/** Stalls shorter than this are ordinary scheduling noise. */
const NOISE_MS = 50;
/** However starved, a probe is not given longer than this many timeouts. */
const MAX_STRETCH = 8;

/**
 * This process's own health, in the sense of Lifeguard (the extension of SWIM in memberlist):
 * when this node's event loop has been stalled (a machine short of CPU starts or runs many nodes
 * at once; a long GC), a peer's late answer says more about this machine than about the peer.
 * Probes are then given longer, so an overloaded machine does not declare its healthy peers
 * stopped and set off a storm of redials that loads it further. On a healthy machine the stretch
 * is 1 and detection keeps its speed.
 */
export class LocalHealth {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });
  /** Recent stalls: [when seen, longest delay in ms]. */
  private readonly recent: Array<[number, number]> = [];

  start(): void {
    this.histogram.enable();
  }

  stop(): void {
    this.histogram.disable();
  }

  /** The longest event-loop stall of this process in the last few seconds, in ms. */
  stallMs(now = Date.now()): number {
    const max = this.histogram.max / 1e6;
    this.histogram.reset();
    if (max > NOISE_MS) this.recent.push([now, max]);
    while (this.recent.length && now - this.recent[0][0] > WINDOW_MS) this.recent.shift();
    return this.recent.reduce((m, [, d]) => Math.max(m, d), 0);
  }

  /** The probe timeout to use now: the configured one, stretched by this process's recent stalls. */
  timeoutMs(configuredMs: number): number {
    return stretchedTimeout(configuredMs, this.stallMs());
  }
}

/** A timeout grown by `stallMs` twice over (the probe and its answer may each wait that long), capped. */
export function stretchedTimeout(configuredMs: number, stallMs: number): number {
  if (stallMs <= NOISE_MS) return configuredMs;
  return Math.min(configuredMs * MAX_STRETCH, configuredMs + 2 * stallMs);
}
