import type { Logger } from 'pino';
import type { Connection } from '../transport/connection';
import type { PeerManager } from './peers';
import type { LocalHealth } from './local-health';
import { STEPS } from './overlay';
import { DEFAULT_TUNING, type Tuning } from '../tuning';

export interface ProberOptions {
  /** This node's name: its place in the probe ring. */
  self: string;
  /** One probe of one member per interval. */
  intervalMs: number;
  /** How long a probe may go unanswered. Covers GC pauses, CPU starvation and 1 s stalls. */
  timeoutMs: number;
  /** The running members, as this node sees them (the whole cluster agrees on them). */
  running: () => string[];
}

/**
 * The member `self` probes in time slot `slot`: the running members and this node in name order
 * form a ring, and in each slot every node probes the node `s` places after it, `s` cycling
 * through 1..min(n-1, STEPS), the neighbours it keeps links to (membership/overlay.ts). For one
 * `s` that is a permutation, so every member is probed by exactly one other member in every slot
 * (SWIM's random order only bounds it by n-1 slots, and the first probe of a silent member comes
 * after about one whole interval; here after half of one).
 */
export function probeTarget(self: string, running: readonly string[], slot: number, steps = STEPS): string | undefined {
  const ring = [...new Set([self, ...running])].sort();
  if (ring.length < 2) return undefined;
  const step = 1 + (slot % Math.min(ring.length - 1, steps));
  return ring[(ring.indexOf(self) + step) % ring.length];
}

/**
 * Failure detection with a cost that does not grow with the cluster: every interval this node
 * pings ONE member (chosen by `probeTarget`, slots taken from the wall clock so every node
 * agrees on them) over its existing link. A member that does not answer within the timeout is
 * suspected: the prober tells its linked members, and those linked to the suspect (its other
 * neighbours), and the prober, check it with a direct ping of their own; one that gets no answer
 * either says the member is down, and the cluster hears it by gossip (a member that runs after
 * all answers that with a higher incarnation). A crashed process needs none of this: its TCP
 * links close at once.
 *
 * Idle cost per node: one ping and one answer sent, one of each received, per interval, whatever
 * N is (vs 2(N-1) frames for all-to-all heartbeats).
 */
export class Prober {
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly checking = new Set<string>();
  /** Running members this node probes that had no link here at its last turn with them, and since when. */
  private readonly unlinkedSince = new Map<string, number>();
  /** Where in each slot this node probes: spread by name so the cluster's probes do not burst together. */
  private readonly offsetMs: number;

  constructor(
    private readonly peers: PeerManager,
    private readonly o: ProberOptions,
    private readonly health: LocalHealth,
    private readonly log: Logger,
    private readonly t: Tuning['health'] = DEFAULT_TUNING.health,
  ) {
    let h = 0;
    for (const c of o.self) h = (h * 31 + c.charCodeAt(0)) >>> 0;
    this.offsetMs = h % o.intervalMs;
  }

  start(): void {
    this.stopped = false;
    this.scheduleNext();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private scheduleNext(): void {
    if (this.stopped) return;
    const now = Date.now();
    let at = Math.floor(now / this.o.intervalMs) * this.o.intervalMs + this.offsetMs;
    if (at <= now) at += this.o.intervalMs;
    this.timer = setTimeout(() => {
      this.health.noteLateness(Date.now() - at);
      this.scheduleNext();
      void this.tick(Math.floor(at / this.o.intervalMs));
    }, at - now);
    this.timer.unref();
  }

  private async tick(slot: number): Promise<void> {
    const running = this.o.running();
    // A member that stopped running ends its entry: if it runs again, its wait starts afresh.
    for (const m of this.unlinkedSince.keys()) if (!running.includes(m)) this.unlinkedSince.delete(m);
    const peer = probeTarget(this.o.self, running, slot);
    if (!peer || this.checking.has(peer)) return;
    const timeoutMs = this.health.timeoutMs(this.o.timeoutMs);
    const conn = this.peers.link(peer);
    // A link in its first sync is pinged like any other: only a missing one needs the others.
    if (!conn) return this.unlinked(peer, timeoutMs);
    this.unlinkedSince.delete(peer);
    if (await this.ping(conn, timeoutMs)) return;
    if (conn.isClosed) return;
    this.log.info({ peer }, `${peer} did not answer a probe within ${timeoutMs}ms: asking the members linked to it to check it`);
    this.askOthers(peer, timeoutMs, conn);
    await this.confirm(peer, 'this node');
  }

  /**
   * This node probes `peer` in this slot but has no link to it: a dial or handshake still going, or
   * a dial that failed and waits to be tried again. While that lasts no one may be probing it at
   * all: a member frozen moments after it joined has links up only to the members it dialled
   * itself, which probe others, and its probers' handshakes stall until they give up after 10 s. So
   * when there is still no link at this node's next turn with the same member (STEPS slots later, at
   * least 2 probe timeouts), the members linked to it check it, as they do for a probe that went
   * unanswered. A member that is only slow to link answers their pings and nothing changes.
   */
  private unlinked(peer: string, timeoutMs: number): void {
    const now = Date.now();
    const since = this.unlinkedSince.get(peer);
    if (since === undefined) {
      this.unlinkedSince.set(peer, now);
      return;
    }
    if (now - since < 2 * timeoutMs) return;
    this.unlinkedSince.set(peer, now);
    this.log.info({ peer }, `${peer} is shown running but has had no link to this node, which probes it, for ${now - since}ms: asking the members linked to it to check it`);
    this.askOthers(peer, timeoutMs);
  }

  /** Asks this node's linked members to check `peer` (`suspect`); those linked to it ping it. */
  private askOthers(peer: string, timeoutMs: number, except?: Connection): void {
    for (const other of this.peers.upLinks()) if (other !== except) other.request('suspect', { node: peer }, timeoutMs * 2).catch(() => undefined);
  }

  /** A member suspects `peer`: check it directly; no answer shows it stopped here. */
  async confirm(peer: string, suspectedBy: string): Promise<void> {
    const conn = this.peers.link(peer);
    if (!conn || !this.peers.isUp(peer) || this.checking.has(peer)) return;
    this.checking.add(peer);
    try {
      // Timeouts stretch while this process itself is starved (see LocalHealth).
      const timeoutMs = this.health.timeoutMs(this.o.timeoutMs);
      if (await this.ping(conn, timeoutMs)) return;
      this.peers.suspend(conn, `no answer to probes for ${2 * timeoutMs}ms (suspected by ${suspectedBy})`, timeoutMs);
    } finally {
      this.checking.delete(peer);
    }
  }

  /**
   * True when the peer answers in time. A timer that fires late means this process itself stalled;
   * the answer may be waiting unread, so it gets one more short grace before the peer is blamed.
   */
  private ping(conn: Connection, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      let settled = false;
      const done = (ok: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(ok);
      };
      conn.request('ping', {}, timeoutMs * 4).then(
        () => done(true),
        () => done(false),
      );
      const deadline = Date.now() + timeoutMs;
      const check = () => {
        const late = Date.now() - deadline;
        this.health.noteLateness(late);
        if (late > this.t.lateProbeMs) timer = setTimeout(() => done(false), this.t.lateProbeGraceMs);
        else done(false);
      };
      let timer = setTimeout(check, timeoutMs);
    });
  }
}
