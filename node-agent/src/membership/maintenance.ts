import type { Timer } from '../runtime';
import type { ClusterNode } from './cluster';
import { autoclean } from './autoclean';

/**
 * The node's housekeeping, once a second (tuning.maintenance): idle links swept, old gossip ids
 * forgotten, and on a core autoclean, tombstones every core has seen collected, and the replicant
 * check started when a replicant is linked.
 */
export class Maintenance {
  private timer?: Timer;

  constructor(private readonly n: ClusterNode) {}

  start(): void {
    this.timer = this.n.rt.clock.setInterval(() => this.look(), this.n.tuning.maintenance.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.n.rt.clock.clearInterval(this.timer);
  }

  private look(): void {
    const now = this.n.rt.clock.now();
    this.n.peers.sweep(now);
    this.n.gossip.flood.prune(now);
    if (this.n.role === 'replicant') {
      // Cores passed over for a while may be linked again (the rendezvous order puts them back).
      if (this.n.coreTrouble.expire()) this.n.queueReconcile();
      return;
    }
    this.n.shedReplicants();
    this.n.heartbeat.watch();
    autoclean(this.n, now);
    this.collectTombstones(now);
  }

  private collectTombstones(now: number): void {
    const { replica, tombstones } = this.n;
    // Once every other member holds it, replicants too: a replicant's copy only ever merges what a
    // core sends, so a tombstone collected before it arrived there would leave the value readable.
    const others = this.n.memberNames().filter((m) => m !== this.n.name);
    const collectable = tombstones.collect(others, now, this.n.tuning.maintenance.tombstoneMinAgeMs);
    for (const key of collectable) if (replica.data.get(key)?.value === null) replica.data.delete(key);
    if (collectable.length) {
      this.n.persist();
      this.n.log.debug({ collected: collectable.length }, `collected ${collectable.length} tombstone(s) every member has seen`);
    }
  }
}
