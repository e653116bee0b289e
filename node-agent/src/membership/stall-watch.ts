import type { Clock, Timer } from '../runtime/clock';
import type { LocalHealth } from './local-health';

/**
 * Measures this process's own lateness (Lifeguard's local health) while links are being made.
 *
 * A link that fails its handshake is a down claim unless this process stalled itself (links.ts),
 * and a handshake's timeout stretches with its stalls: both need the stall seen when it happens.
 * The prober's timers (once a second) miss most of a starved process's stalls, and a node that
 * has just started or joined does not probe yet. So while member links are dialled or accepted
 * (and joins or discovery probes answered; not ctl sessions, this node's own discovery probes or
 * its redials of a member shown stopped, whose failures claim nothing), a timer every `everyMs` notes how late it fires, until `forMs` after the last one; at
 * rest it sets no timer. Without it (2026-12-06, once the replicant check's 100 ms tick no longer
 * ran on every core), 100 agents forming on 2 cores claimed members they could not link to down
 * 5-68 times per cold start, each refuted and spread to all, against 0-4 times with a tick.
 */
export class StallWatch {
  private timer?: Timer;
  private due = 0;
  private until = 0;
  private stopped = false;

  constructor(
    private readonly health: LocalHealth,
    private readonly clock: Clock,
    private readonly everyMs: number,
    private readonly forMs: number,
  ) {}

  /** A link is being made (dialled, accepted, or this node just started): watch for the next `forMs`. */
  wake(): void {
    if (this.stopped) return;
    const now = this.clock.now();
    this.until = now + this.forMs;
    if (this.timer) return;
    this.due = now + this.everyMs;
    this.timer = this.clock.setInterval(() => this.tick(), this.everyMs);
    this.timer.unref();
  }

  /**
   * Notes how late the pending tick already is. After a stall Node.js runs the overdue timers in
   * the order they were due, so a handshake's timeout due just before the next tick fires first,
   * and its link would be judged before the tick noted the stall: links.ts calls this before it
   * judges a lost or failed link.
   */
  catchUp(): void {
    if (!this.timer) return;
    const now = this.clock.now();
    if (now > this.due) this.health.noteLateness(now - this.due, now);
  }

  /** Whether the timer runs (for tests). */
  get watching(): boolean {
    return this.timer !== undefined;
  }

  stop(): void {
    this.stopped = true;
    this.halt();
  }

  private tick(): void {
    const now = this.clock.now();
    this.health.noteLateness(now - this.due, now);
    this.due = now + this.everyMs;
    if (now >= this.until) this.halt();
  }

  private halt(): void {
    this.clock.clearInterval(this.timer);
    this.timer = undefined;
  }
}
