import { HybridClock } from '../clock/hlc';
import type { DataEntry, MemberEntry } from '../domain/state';
import { LwwMap } from '../store/lww-map';
import type { PersistedState } from '../store/state-file';
import { systemRuntime, type Runtime } from '../runtime';

/**
 * One node's copy of its cluster's replicated state: the cluster id, the member list and the data
 * (last-writer-wins maps under a hybrid logical clock), and whether the node is still fresh (never
 * in a cluster nor written to, so a cluster listing it may adopt it). No I/O and no timers: the
 * cluster node saves it (store/state-file.ts) and spreads its changes.
 */
export class Replica {
  readonly clock: HybridClock;
  clusterId: string;
  members: LwwMap<MemberEntry>;
  data: LwwMap<DataEntry>;
  /** Not in any cluster nor written to since its first boot (adoptable: a lost data dir). */
  fresh: boolean;

  /** From the saved state, or a fresh cluster of one. */
  constructor(
    readonly self: string,
    saved?: PersistedState,
    private readonly rt: Pick<Runtime, 'clock' | 'random'> = systemRuntime,
  ) {
    this.clock = new HybridClock(self, () => rt.clock.now());
    if (saved) {
      this.clusterId = saved.cluster_id;
      this.members = new LwwMap(saved.members);
      this.data = new LwwMap(saved.data);
      for (const e of [...saved.members, ...saved.data]) this.clock.observe(e.ts);
      this.fresh = saved.fresh ?? false;
    } else {
      this.clusterId = this.newClusterId();
      this.members = new LwwMap([{ key: self, state: 'member', ts: this.clock.now() }]);
      this.data = new LwwMap();
      this.fresh = true;
    }
  }

  private newClusterId(): string {
    return this.rt.random.hex(8);
  }

  memberNames(): string[] {
    return this.members.values().filter((m) => m.state === 'member').map((m) => m.key);
  }

  isMember(node: string): boolean {
    return this.members.get(node)?.state === 'member';
  }

  /** The deleted keys held (tombstones). */
  tombstoneKeys(): string[] {
    return this.data.values().filter((e) => e.value === null).map((e) => e.key);
  }

  /** A new cluster of one (after a leave or a removal); the data is kept. */
  becomeStandalone(): { old: string } {
    const old = this.clusterId;
    this.clusterId = this.newClusterId();
    this.members = new LwwMap([{ key: this.self, state: 'member', ts: this.clock.now() }]);
    this.fresh = false;
    return { old };
  }

  /** Moves to another cluster: its id, an empty member list to merge its members into, and this node's data kept or dropped. */
  moveTo(clusterId: string, keepData: boolean): void {
    this.clusterId = clusterId;
    this.members = new LwwMap();
    if (!keepData) this.data = new LwwMap();
  }

  /** What the state file holds (liveness is not kept: after a restart a node learns afresh who is up). */
  persisted(): PersistedState {
    return { format: 1, node: this.self, cluster_id: this.clusterId, members: [...this.members.values()], data: [...this.data.values()], fresh: this.fresh || undefined };
  }
}
