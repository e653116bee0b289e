import type { Logger } from 'pino';
import type { Connection } from '../transport/connection';
import type { PeerManager } from './peers';
import type { LocalHealth } from './local-health';
import { STEPS } from './overlay';
import { DEFAULT_TUNING, type Tuning } from '../tuning';
import { systemClock, type Clock, type Timer } from '../runtime/clock';
import type { Stats } from '../observe/stats';

export interface ProberOptions {
  /** This node's name: its place in the probe ring. */
  self: string;
  /** One probe of one member per interval. */
  intervalMs: number;
  /** How long a probe may go unanswered. Covers GC pauses, CPU starvation and 1 s stalls. */
  timeoutMs: number;
  /** The running members, as this node sees them (the whole cluster agrees on them). */
  running: () => string[];
  /** Where probes, their failures and round trips are counted. */
  stats?: Stats;
  /** The links asked to check a suspect: the cores' (a replicant checks no one). @default every up link */
  askable?: () => Connection[];
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
  private timer?: Timer;
  private stopped = false;
  private readonly checking = new Set<string>();
  /** Running members this node probes that had no link here at its last turn with them, and since when. */
  private readonly unlinkedSince = new Map<string, number>();
  /** The last slot this node probed in: one probe per slot. */
  private lastSlot = -1;
  /** The member probed in `lastSlot`, and whether it was the slot's second probe (one at most). */
  private lastTarget?: string;
  private probedAgain = false;
  /** When the next probe is due. */
  private planned?: number;

  constructor(
    private readonly peers: PeerManager,
    private readonly o: ProberOptions,
    private readonly health: LocalHealth,
    private readonly log: Logger,
    private readonly t: Tuning['health'] = DEFAULT_TUNING.health,
    private readonly clock: Clock = systemClock,
  ) {}

  start(): void {
    this.stopped = false;
    this.scheduleNext();
  }

  stop(): void {
    this.stopped = true;
    this.planned = undefined;
    this.clock.clearTimeout(this.timer);
  }

  /**
   * A probe's place in its slot is set by its target (a hash of the target's name), not by the
   * prober: each member is probed at the same point of every slot, whoever probes it then, so
   * probes of one member are exactly one interval apart and a member that stops is probed within
   * one interval. With the place set by the prober, two probes of a member could be almost two
   * intervals apart, and a frozen member was found up to an interval later than the stated bound
   * (the simulator's seeds showed it: docs/decisions/0006). The probes of the cluster still spread
   * over the slot, as the members' names do.
   */
  private scheduleNext(): void {
    if (this.stopped) return;
    const { slot, at } = this.nextProbe();
    this.planned = at;
    this.timer = this.clock.setTimeout(() => {
      this.probedAgain = slot === this.lastSlot;
      this.lastSlot = slot;
      this.lastTarget = this.targetIn(slot);
      this.health.noteLateness(this.clock.now() - at, this.clock.now());
      this.scheduleNext();
      void this.tick(slot);
    }, at - this.clock.now());
    this.timer.unref();
  }

  /**
   * The running members changed: the probe planned in this slot may now be of another member, at
   * another place. A member that joined mid-slot is probed in that slot (at once, if its place
   * has passed), not only in the next one: its first probe too comes within one interval.
   */
  replan(): void {
    if (this.stopped || this.planned === undefined) return;
    if (this.nextProbe().at === this.planned) return;
    this.clock.clearTimeout(this.timer);
    this.scheduleNext();
  }

  /** The next slot this node probes in and when: its target's place, or now if that has passed. */
  private nextProbe(): { slot: number; at: number } {
    const now = this.clock.now();
    const interval = this.o.intervalMs;
    const current = Math.floor(now / interval);
    // The wall clock stepped back (NTP): plan from now, not from a slot still ahead.
    if (current < this.lastSlot) this.lastSlot = current - 1;
    // This slot once more when its target changed since this node probed in it: a member that
    // joined after this node's probe of the slot would otherwise wait for the next one.
    const again = current === this.lastSlot && !this.probedAgain && this.targetIn(current) !== this.lastTarget;
    let slot = again ? current : Math.max(current, this.lastSlot + 1);
    let at = slot * interval + this.placeIn(slot);
    if (at <= now) {
      // This slot's probe is not made yet (a new member, or a new target): made now.
      if (slot === current && this.lastSlot >= 0) at = now;
      else at = ++slot * interval + this.placeIn(slot);
    }
    return { slot, at };
  }

  private targetIn(slot: number): string | undefined {
    return probeTarget(this.o.self, this.o.running(), slot);
  }

  /** Where in `slot` this node probes: at its target's place (or its own, with nobody to probe). */
  private placeIn(slot: number): number {
    const target = this.targetIn(slot) ?? this.o.self;
    // FNV-1a with a final mix: names that differ in their last character (m01, m02) land far
    // apart in the slot, not a millisecond apart.
    let h = 0x811c9dc5;
    for (let i = 0; i < target.length; i++) h = Math.imul(h ^ target.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return ((h ^ (h >>> 16)) >>> 0) % this.o.intervalMs;
  }

  private async tick(slot: number): Promise<void> {
    const running = this.o.running();
    // A member that stopped running ends its entry: if it runs again, its wait starts afresh.
    for (const m of this.unlinkedSince.keys()) if (!running.includes(m)) this.unlinkedSince.delete(m);
    const peer = probeTarget(this.o.self, running, slot);
    if (!peer || this.checking.has(peer)) return;
    const timeoutMs = this.health.timeoutMs(this.o.timeoutMs, this.clock.now());
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
    const now = this.clock.now();
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
    for (const other of this.o.askable?.() ?? this.peers.upLinks()) if (other !== except) other.request('suspect', { node: peer }, timeoutMs * 2).catch(() => undefined);
  }

  /** A member suspects `peer`: check it directly; no answer shows it stopped here. */
  async confirm(peer: string, suspectedBy: string): Promise<void> {
    const conn = this.peers.link(peer);
    if (!conn || this.checking.has(peer)) return;
    this.checking.add(peer);
    try {
      // Timeouts stretch while this process itself is starved (see LocalHealth).
      const timeoutMs = this.health.timeoutMs(this.o.timeoutMs, this.clock.now());
      if (await this.ping(conn, timeoutMs)) return;
      const reason = `no answer to probes for ${2 * timeoutMs}ms (suspected by ${suspectedBy})`;
      // A link still in its first sync is judged too: a member frozen moments after it joined
      // has links that never finish their sync, and was found only when the sync timed out.
      if (this.peers.isUp(peer)) this.peers.suspend(conn, reason, timeoutMs);
      else this.peers.abandon(conn, reason);
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
        if (!ok && this.o.stats) this.o.stats.probesFailed++;
        this.clock.clearTimeout(timer);
        resolve(ok);
      };
      const stats = this.o.stats;
      const sentAt = performance.now();
      const sentAtMs = this.clock.now();
      if (stats) stats.probesSent++;
      conn.request('ping', {}, timeoutMs * 4).then(
        () => {
          if (!settled) {
            stats?.probeRttMs.observe(performance.now() - sentAt);
            conn.noteRtt(this.clock.now() - sentAtMs);
          }
          done(true);
        },
        () => done(false),
      );
      const deadline = this.clock.now() + timeoutMs;
      const check = () => {
        const late = this.clock.now() - deadline;
        this.health.noteLateness(late, this.clock.now());
        if (late > this.t.lateProbeMs) timer = this.clock.setTimeout(() => done(false), this.t.lateProbeGraceMs);
        else done(false);
      };
      let timer = this.clock.setTimeout(check, timeoutMs);
    });
  }
}
