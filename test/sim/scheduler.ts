import type { Clock, Timer } from '../../node-agent/src/runtime';

/**
 * Virtual time for the simulator: one queue of events for every node in the process, run in
 * (time, order of scheduling) order, so a seed replays exactly. Between two events every promise
 * job the last one started runs to the end (`runUntil` yields to the real event loop), as in a
 * process: what an agent does in one turn is done before its next timer or packet.
 *
 * Each event belongs to a process (a node's run) or to the network. A frozen process (SIGSTOP)
 * keeps its events until it is thawed; a crashed one loses them.
 */
export class Process {
  frozen = false;
  dead = false;
  /** Events that came due while frozen, run in order when thawed. */
  held: SimEvent[] = [];
  constructor(readonly label: string) {}
}

interface SimEvent {
  at: number;
  seq: number;
  owner?: Process;
  fn: () => void;
  cancelled: boolean;
  /** For intervals: the period to schedule it again. */
  every?: number;
}

/** A binary heap by (at, seq). */
class Heap {
  private a: SimEvent[] = [];
  get size(): number {
    return this.a.length;
  }
  push(e: SimEvent): void {
    const a = this.a;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }
  pop(): SimEvent | undefined {
    const a = this.a;
    if (!a.length) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l], a[m])) m = l;
        if (r < a.length && before(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
  peek(): SimEvent | undefined {
    return this.a[0];
  }
}

const before = (x: SimEvent, y: SimEvent) => x.at < y.at || (x.at === y.at && x.seq < y.seq);

/** Yields to the real event loop: every promise job queued so far runs first. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A timer's delay as Node.js takes it: under 1 ms is 1 ms. NaN and delays past 2^31 - 1 ms, which
 * Node.js turns into 1 ms with a warning (a timer that fires at once instead of in a month), are
 * refused: the agent must never ask for them.
 */
function delay(ms: number): number {
  if (Number.isNaN(ms) || ms > 2_147_483_647) throw new Error(`simulator: a timer of ${ms} ms (Node.js would fire it after 1 ms, with a TimeoutOverflowWarning)`);
  return Math.max(1, ms);
}

/** Virtual time starts at a fixed date, so timestamps and logs are the same on every run. */
export const EPOCH = Date.UTC(2026, 0, 1);

export class Scheduler {
  readonly start = EPOCH;
  now = EPOCH;
  private seq = 0;
  private readonly queue = new Heap();
  /** Events run so far: part of a run's fingerprint. */
  ran = 0;

  at(at: number, fn: () => void, owner?: Process): SimEvent {
    const e: SimEvent = { at: Math.max(at, this.now), seq: this.seq++, owner, fn, cancelled: false };
    this.queue.push(e);
    return e;
  }

  after(ms: number, fn: () => void, owner?: Process): SimEvent {
    return this.at(this.now + Math.max(0, ms), fn, owner);
  }

  /** Runs events until virtual time `until` (or `stop()` says so, checked after each event). */
  async runUntil(until: number, stop?: () => boolean): Promise<void> {
    for (;;) {
      const next = this.queue.peek();
      if (!next || next.at > until) break;
      this.queue.pop();
      if (next.cancelled) continue;
      const owner = next.owner;
      if (owner?.dead) continue;
      this.now = next.at;
      if (owner?.frozen) {
        owner.held.push(next);
        continue;
      }
      this.ran++;
      if (next.every !== undefined) {
        next.at = this.now + next.every;
        next.seq = this.seq++;
        this.queue.push(next);
      }
      next.fn();
      await turn();
      if (stop?.()) return;
    }
    this.now = Math.max(this.now, until);
  }

  freeze(p: Process): void {
    p.frozen = true;
  }

  /** Thaws a process: what came due meanwhile runs now, in its order (a SIGCONT). */
  thaw(p: Process): void {
    p.frozen = false;
    const held = p.held;
    p.held = [];
    for (const e of held) {
      if (e.cancelled) continue;
      // A timer (or interval) that came due while stopped fires now, late, as in Node.js.
      e.at = this.now;
      e.seq = this.seq++;
      this.queue.push(e);
    }
  }

  /** The clock one process sees: its timers are its own events. */
  clockFor(p: Process): Clock {
    const handle = (e: SimEvent): Timer & { e: SimEvent } => {
      const t = { e, unref: () => t };
      return t;
    };
    const cancel = (t: Timer | undefined) => {
      if (t) (t as Timer & { e: SimEvent }).e.cancelled = true;
    };
    return {
      // Whole milliseconds, as Date.now (timestamps on the wire are integers).
      now: () => Math.floor(this.now),
      setTimeout: (fn, ms) => handle(this.after(delay(ms), fn, p)),
      clearTimeout: cancel,
      setInterval: (fn, ms) => {
        const e = this.after(delay(ms), fn, p);
        e.every = delay(ms);
        return handle(e);
      },
      clearInterval: cancel,
      // After the promise jobs of this turn (runUntil drains them before the next event).
      setImmediate: (fn) => void this.after(0, fn, p),
    };
  }
}
