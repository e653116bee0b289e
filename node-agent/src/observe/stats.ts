import { DEFAULT_TUNING } from '../tuning';

/**
 * What the agent counts about itself, as plain numbers the membership and the transport bump as
 * things happen: no metrics library in the core, so the simulator's thousand nodes pay nothing for
 * it. The HTTP listener's `/metrics` (observe/metrics.ts) reads them at scrape time, and its page
 * and `/api/v1` the recent membership events.
 */

/** Bucket upper bounds of the probe round-trip histogram, in ms: loopback answers in well under 1 ms, a starved or distant peer in hundreds. */
export const PROBE_RTT_BUCKETS_MS = [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500] as const;

export type MembershipEventKind = 'added' | 'removed' | 'stopped' | 'running' | 'partitioned' | 'healed' | 'refuted';

export interface MembershipEvent {
  /** Wall-clock time, ISO 8601. */
  at: string;
  kind: MembershipEventKind;
  node: string;
  detail?: string;
}

export interface Traffic {
  messages: number;
  bytes: number;
}

/** Counts by a label value, created on first use (the labels are a small fixed set: ops, causes, strategies). */
export class LabelledCount {
  readonly values = new Map<string, number>();
  inc(label: string, by = 1): void {
    this.values.set(label, (this.values.get(label) ?? 0) + by);
  }
}

export class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly bounds: readonly number[]) {
    this.counts = bounds.map(() => 0);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    const i = this.bounds.findIndex((b) => v <= b);
    if (i >= 0) this.counts[i]++;
  }
}

export class Stats {
  probesSent = 0;
  probesFailed = 0;
  readonly probeRttMs = new Histogram(PROBE_RTT_BUCKETS_MS);
  /** Down claims this node made (a member it lost), and claims about this node it answered (refuted). */
  downClaimsMade = 0;
  downClaimsRefuted = 0;
  partitionsSeen = 0;
  /** Data writes (put, del) started here, acknowledged by every running member or not (yet). */
  writesAcked = 0;
  writesNotAcked = 0;
  readonly discoveryRuns = new LabelledCount();
  readonly discoveryErrors = new LabelledCount();
  readonly handshakesRefused = new LabelledCount();
  /** HTTP listener requests, by `<route> <status code>` (unknown paths as `other`). */
  readonly httpRequests = new LabelledCount();
  /** Frames by direction and kind (the request's op, `handshake`, `control`), and their bytes on the wire. */
  readonly trafficIn = new Map<string, Traffic>();
  readonly trafficOut = new Map<string, Traffic>();
  private readonly events: MembershipEvent[] = [];
  /** When a frame last came from each member on a link of this node (wall-clock ms). */
  readonly lastHeard = new Map<string, number>();

  constructor(
    private readonly wall: () => number = Date.now,
    private readonly eventsKept = DEFAULT_TUNING.observe.eventsKept,
  ) {}

  frameIn(kind: string, bytes: number): void {
    count(this.trafficIn, kind, bytes);
  }

  frameOut(kind: string, bytes: number): void {
    count(this.trafficOut, kind, bytes);
  }

  heard(node: string, at: number): void {
    this.lastHeard.set(node, at);
  }

  event(kind: MembershipEventKind, node: string, detail?: string): void {
    if (kind === 'removed') this.lastHeard.delete(node);
    if (this.events.length >= this.eventsKept) this.events.shift();
    this.events.push({ at: new Date(this.wall()).toISOString(), kind, node, detail });
  }

  /** A partition with `node` ended: healed (autoheal), or kept apart (autoheal off). */
  partitionEnded(node: string, healed: boolean): void {
    this.partitionsSeen++;
    this.event(healed ? 'healed' : 'partitioned', node, healed ? 'partition ended: healed' : 'partition ended: kept apart (autoheal = false)');
  }

  /** The last tuning.observe.eventsKept membership events, newest last. */
  recentEvents(): readonly MembershipEvent[] {
    return this.events;
  }
}

function count(m: Map<string, Traffic>, kind: string, bytes: number): void {
  const t = m.get(kind);
  if (t) {
    t.messages++;
    t.bytes += bytes;
  } else m.set(kind, { messages: 1, bytes });
}
