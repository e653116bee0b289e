import type { Connection } from '../transport/connection';
import { systemClock, type Clock, type Timer } from '../runtime/clock';

/**
 * Connections of discovery probes ("which cluster are you in?"), kept open for a moment: the join
 * through the same node that usually follows, or the next look, then needs no new handshake.
 */
export class ProbeLinks {
  private readonly kept = new Map<string, { conn: Connection; timer: Timer }>();
  private readonly watched = new WeakSet<Connection>();

  constructor(
    private readonly keepMs: number,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Keeps the probe connection to `target` for keepMs, replacing (closing) one kept before. */
  keep(target: string, conn: Connection): void {
    const timer = this.clock.setTimeout(() => {
      if (this.kept.get(target)?.conn === conn) this.kept.delete(target);
      conn.close('probe done');
    }, this.keepMs);
    timer.unref();
    this.take(target)?.close('probe done');
    this.kept.set(target, { conn, timer });
    if (this.watched.has(conn)) return;
    this.watched.add(conn);
    conn.once('close', () => {
      const k = this.kept.get(target);
      if (k?.conn !== conn) return;
      this.clock.clearTimeout(k.timer);
      this.kept.delete(target);
    });
  }

  /** Takes a kept connection out of keeping, so its timer cannot close it under a join in flight. */
  take(target: string): Connection | undefined {
    const k = this.kept.get(target);
    if (!k) return undefined;
    this.clock.clearTimeout(k.timer);
    this.kept.delete(target);
    return k.conn.isClosed ? undefined : k.conn;
  }

  closeAll(reason: string): void {
    for (const { conn, timer } of this.kept.values()) {
      this.clock.clearTimeout(timer);
      conn.close(reason);
    }
    this.kept.clear();
  }
}
