import { DEFAULT_TUNING, type Tuning } from '../tuning';

/**
 * This process's own health, in the sense of Lifeguard (the extension of SWIM in memberlist):
 * when this node's own timers fire late (a machine short of CPU starts or runs many nodes at once;
 * a long GC pause), a peer's late answer says more about this machine than about the peer. Probes
 * are then given longer, so an overloaded machine does not declare its healthy peers stopped and
 * set off a storm of redials that loads it further. On a healthy machine nothing is stretched and
 * detection keeps its speed. The prober's own timers are the measure, and while links are being
 * made a finer one (stall-watch.ts); at rest nothing wakes the process for it.
 */
export class LocalHealth {
  /** Recent stalls: [when seen, how late a timer fired, ms]. */
  private readonly recent: Array<[number, number]> = [];

  constructor(private readonly t: Tuning['health'] = DEFAULT_TUNING.health) {}

  /** A timer of this process fired `lateMs` after it was due. */
  noteLateness(lateMs: number, now = Date.now()): void {
    if (lateMs > this.t.noiseMs) this.recent.push([now, lateMs]);
    this.prune(now);
  }

  /** The longest stall of this process in the last few seconds, in ms (0 when healthy). */
  stallMs(now = Date.now()): number {
    this.prune(now);
    return this.recent.reduce((m, [, d]) => Math.max(m, d), 0);
  }

  /** The probe timeout to use now: the configured one, stretched by this process's recent stalls. */
  timeoutMs(configuredMs: number, now = Date.now()): number {
    return stretchedTimeout(configuredMs, this.stallMs(now), this.t);
  }

  private prune(now: number): void {
    while (this.recent.length && now - this.recent[0][0] > this.t.windowMs) this.recent.shift();
  }
}

/** A timeout grown by `stallMs` twice over (the probe and its answer may each wait that long), capped. */
export function stretchedTimeout(configuredMs: number, stallMs: number, t: Tuning['health'] = DEFAULT_TUNING.health): number {
  if (stallMs <= t.noiseMs) return configuredMs;
  return Math.min(configuredMs * t.maxStretch, configuredMs + 2 * stallMs);
}
