import type { Timer } from '../runtime';
import type { Connection } from '../transport/connection';
import type { ClusterNode } from './cluster';

/**
 * How a replicant and the cores it links to see each other go silent, in place of the cores' ring
 * prober (membership/prober.ts), which replicants are not part of. The replicant pings each of its
 * cores once per probe interval, and a second time when a ping goes unanswered for the probe
 * timeout; a core silent through both is passed over and another linked. A core checks that each
 * replicant linked to it has been heard within interval + 2 x timeout (the cluster's detection
 * bound) and otherwise suspends its link, which claims it down (links.ts) as a lost neighbour's.
 * One ping and its answer per replicant link and interval; a core sets no timer per replicant,
 * and none at all while no replicant is linked to it.
 * Both sides' timeouts stretch with their own stalls (local-health.ts), as the prober's do.
 */
export class ReplicantHeartbeat {
  private timer?: Timer;
  private stopped = false;
  /** When the next tick is due: a late one is a stall of this process (local-health.ts). */
  private due = 0;
  /** On a core: when each replicant linked to it was last heard. */
  private readonly heardAt = new Map<string, number>();
  /** On a replicant: the core links with a ping in flight. */
  private readonly pinging = new Set<Connection>();

  constructor(private readonly n: ClusterNode) {}

  start(): void {
    this.stopped = false;
    if (this.n.role === 'replicant') this.run(this.n.cfg.cluster.failure_detector.probe_interval);
    else this.watch();
  }

  /**
   * On a core: the check runs while a replicant is linked here, and stops with the last one. Its
   * tick (every 100 ms) in every core of a cluster without replicants was a third more wake-ups of
   * an idle agent, and about 50 % more idle CPU (0.20 s per 30 s against 0.11-0.14, bench N = 30).
   * Called when a link comes up and once a second (maintenance), since a link's peer may be known
   * as a replicant only after its first sync.
   */
  watch(): void {
    const n = this.n;
    if (this.stopped || n.role !== 'core' || this.timer || !n.peers.linkCount((p) => n.isReplicant(p))) return;
    this.run(n.tuning.roles.replicantCheckMs);
  }

  private run(every: number): void {
    const n = this.n;
    this.due = n.rt.clock.now() + every;
    this.timer = n.rt.clock.setInterval(() => {
      const now = n.rt.clock.now();
      const late = now - this.due;
      n.health.noteLateness(late, now);
      this.due = now + every;
      if (n.role === 'replicant') this.pingCores();
      else this.checkReplicants(late > n.tuning.health.noiseMs);
    }, every);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    this.halt();
  }

  /** Whether the tick runs (on a core: while a replicant is linked). */
  get ticking(): boolean {
    return this.timer !== undefined;
  }

  private halt(): void {
    this.n.rt.clock.clearInterval(this.timer);
    this.timer = undefined;
  }

  /** On a core: its links to replicants, those still in their first sync too. */
  private replicantLinks(): Connection[] {
    return this.n.peers.allLinks().filter((c) => !c.isClosed && this.n.isReplicant(c.peerName));
  }

  /** On a core: a replicant's ping (or any request of its) arrived. */
  heard(replicant: string): void {
    this.heardAt.set(replicant, this.n.rt.clock.now());
  }

  private timeoutMs(): number {
    return this.n.health.timeoutMs(this.n.cfg.cluster.failure_detector.probe_timeout, this.n.rt.clock.now());
  }

  private pingCores(): void {
    for (const conn of this.n.peers.upLinks()) {
      if (this.pinging.has(conn)) continue;
      this.pinging.add(conn);
      void this.ping(conn).finally(() => this.pinging.delete(conn));
    }
  }

  private async ping(conn: Connection): Promise<void> {
    for (let attempt = 1; attempt <= 2; attempt++) {
      try {
        await conn.request('ping', {}, this.timeoutMs());
        return;
      } catch {
        if (conn.isClosed) return;
      }
    }
    const reason = `core ${conn.peerName} answered no ping in 2 x ${this.timeoutMs()} ms`;
    this.n.passOverCore(conn.peerName, reason);
    this.n.peers.suspend(conn, reason, this.timeoutMs());
  }

  /** `stalled`: this tick came late (this process stalled), once per stall. */
  private checkReplicants(stalled: boolean): void {
    const n = this.n;
    const now = n.rt.clock.now();
    const fd = n.cfg.cluster.failure_detector;
    const bound = fd.probe_interval + 2 * this.timeoutMs();
    // A core that stalled itself (thawed, starved) heard nothing meanwhile through its own fault: the
    // replicants' pings wait in its sockets. They get a whole window again, once per stall
    // (Lifeguard's rule); the bound stretches with recent stalls as the prober's timeouts do.
    const linked = new Set<string>();
    // Links still in their first sync too: a replicant frozen just after its handshake answers
    // no sync, and the sync's own timeout (5 s) is longer than the bound.
    const links = this.replicantLinks();
    if (!links.length) {
      // The last replicant link is gone: no tick until one comes up again (watch).
      this.halt();
      this.heardAt.clear();
      return;
    }
    for (const conn of links) {
      const peer = conn.peerName;
      linked.add(peer);
      const at = this.heardAt.get(peer);
      // A new link counts as heard: its handshake was the replicant's word.
      if (at === undefined || stalled) this.heardAt.set(peer, now);
      else if (now - at > bound) {
        this.heardAt.delete(peer);
        const reason = `replicant ${peer} sent nothing for ${now - at} ms`;
        if (n.peers.isUp(peer)) n.peers.suspend(conn, reason, this.timeoutMs());
        else n.peers.abandon(conn, reason);
      }
    }
    for (const peer of this.heardAt.keys()) if (!linked.has(peer)) this.heardAt.delete(peer);
  }
}
