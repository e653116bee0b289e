import type { Logger } from 'pino';
import type { Clock, Timer } from '../runtime/clock';
import type { Tuning } from '../tuning';

interface Source {
  failures: number;
  lastFailure: number;
  inFlight: number;
  /** Refusals since the last line about this source. */
  unreported: number;
  reported: boolean;
  why: string;
}

/**
 * Slows online cookie guessing. A source address (one IP) whose cookie proofs fail is answered
 * later and later: after `freeFailures` failures each handshake from it waits `baseDelayMs`
 * doubled per further failure, up to `maxDelayMs`, before it is even challenged, and it may run
 * only `maxHandshakesFailing` handshakes at once. A dictionary attack then gets one guess per
 * 5 s instead of about 1,500 a second; honest nodes, whose proofs succeed, are never slowed,
 * whether they restart together or not. Refusals are logged once per source, then counted and
 * logged together every `reportEveryMs`: an attack no longer writes megabytes of log.
 */
export class HandshakeGuard {
  private readonly sources = new Map<string, Source>();
  private report?: Timer;

  constructor(
    private readonly log: Logger,
    private readonly t: Tuning['guard'],
    private readonly clock: Clock,
  ) {}

  /** Whether a handshake from `address` may start now; `release` when it ends. */
  admit(address: string): boolean {
    const s = this.source(address);
    const cap = s.failures > 0 ? this.t.maxHandshakesFailing : this.t.maxHandshakesPerSource;
    if (s.inFlight >= cap) {
      this.refused(address, address, `more than ${cap} handshakes at once${s.failures ? ' from a source that failed cookie proofs' : ''}`, s);
      return false;
    }
    s.inFlight++;
    return true;
  }

  release(address: string): void {
    const s = this.sources.get(address);
    if (!s) return;
    s.inFlight = Math.max(0, s.inFlight - 1);
    this.forgetIfIdle(address, s);
  }

  /** How long to wait before challenging a handshake from `address`. */
  delayMs(address: string): number {
    const s = this.sources.get(address);
    if (!s || s.failures <= this.t.freeFailures) return 0;
    return Math.min(this.t.maxDelayMs, this.t.baseDelayMs * 2 ** (s.failures - this.t.freeFailures - 1));
  }

  /** A handshake from `address` (`remote`: with its port) was refused for a failed cookie proof. */
  failed(address: string, remote: string, reason: string): void {
    const s = this.source(address);
    s.failures++;
    s.lastFailure = this.clock.now();
    this.refused(address, remote, reason, s);
  }

  /** The first refusal from a source is logged; the rest are counted and reported periodically. */
  refused(address: string, remote: string, reason: string, s: Source = this.source(address)): void {
    s.why = reason;
    if (!s.reported) {
      s.reported = true;
      this.log.warn({ peer_address: remote, reason }, `refused connection from ${remote}: ${reason} (further refusals from ${address} are counted and reported every ${Math.round(this.t.reportEveryMs / 1000)} s)`);
      return;
    }
    s.unreported++;
    this.report ??= this.clock.setTimeout(() => this.reportCounts(), this.t.reportEveryMs).unref();
  }

  private reportCounts(): void {
    this.report = undefined;
    for (const [address, s] of this.sources) {
      if (!s.unreported) continue;
      this.log.warn({ peer_address: address, refused: s.unreported, failures: s.failures, delay_ms: this.delayMs(address), reason: s.why }, `refused ${s.unreported} more handshake(s) from ${address} in the last ${Math.round(this.t.reportEveryMs / 1000)} s (last: ${s.why}); it is answered after ${this.delayMs(address)} ms`);
      s.unreported = 0;
    }
  }

  private source(address: string): Source {
    let s = this.sources.get(address);
    if (s && s.failures && this.clock.now() - s.lastFailure > this.t.forgetAfterMs) {
      s.failures = 0;
      s.reported = false;
    }
    if (!s) this.sources.set(address, (s = { failures: 0, lastFailure: 0, inFlight: 0, unreported: 0, reported: false, why: '' }));
    return s;
  }

  private forgetIfIdle(address: string, s: Source): void {
    if (!s.inFlight && (!s.failures || this.clock.now() - s.lastFailure > this.t.forgetAfterMs) && !s.unreported) this.sources.delete(address);
  }
}
