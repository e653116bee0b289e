/**
 * Hybrid logical clock (Kulkarni et al.): wall-clock milliseconds plus a logical counter,
 * with the node name as the final tie-break, so every write and membership change has a
 * unique, totally ordered timestamp that respects causality across nodes even when their
 * clocks drift. Last-writer-wins merges compare these.
 */
export interface Timestamp {
  /** Physical part: milliseconds since the epoch. */
  readonly p: number;
  /** Logical counter within one physical millisecond. */
  readonly l: number;
  /** Node that issued it. */
  readonly n: string;
}

export function compareTs(a: Timestamp, b: Timestamp): number {
  if (a.p !== b.p) return a.p < b.p ? -1 : 1;
  if (a.l !== b.l) return a.l < b.l ? -1 : 1;
  return a.n < b.n ? -1 : a.n > b.n ? 1 : 0;
}

export class HybridClock {
  private p = 0;
  private l = 0;

  constructor(private readonly node: string, private readonly wall: () => number = Date.now) {}

  /** A timestamp for a local event. */
  now(): Timestamp {
    const wall = this.wall();
    if (wall > this.p) {
      this.p = wall;
      this.l = 0;
    } else {
      this.l++;
    }
    return { p: this.p, l: this.l, n: this.node };
  }

  /** Moves the clock past a timestamp received from another node. */
  observe(ts: Timestamp): void {
    const wall = this.wall();
    const p = Math.max(wall, this.p, ts.p);
    if (p === this.p && p === ts.p) this.l = Math.max(this.l, ts.l) + 1;
    else if (p === this.p) this.l++;
    else if (p === ts.p) this.l = ts.l + 1;
    else this.l = 0;
    this.p = p;
  }
}
