import { HybridClock } from '../clock/hlc';
import type { DataEntry, MemberEntry } from '../domain/state';
import { LwwMap } from '../store/lww-map';
import type { PersistedState } from '../store/state-file';
import type { StateChange } from '../store/state-log';
import { systemRuntime, type Runtime } from '../runtime';
import type { NodeRole } from '../config/schema';

/**
 * One node's copy of its cluster's replicated state: the cluster id, the member list and the data
 * (last-writer-wins maps under a hybrid logical clock), and whether the node is still fresh (never
 * in a cluster nor written to, so a cluster listing it may adopt it). No I/O and no timers: the
 * cluster node saves it (store/state-file.ts) and spreads its changes.
 */
export class Replica {
  readonly clock: HybridClock;
  clusterId: string;
  private _members!: LwwMap<MemberEntry>;
  private _data!: LwwMap<DataEntry>;
  /** Not in any cluster nor written to since its first boot (adoptable: a lost data dir). */
  fresh: boolean;
  /** What changed since the state writer last asked (`changes`). */
  private readonly changedMembers = new Set<string>();
  private readonly changedData = new Set<string>();
  private replaced = false;
  private saved: { clusterId: string; fresh: boolean };

  /** From the saved state, or a fresh cluster of one. */
  constructor(
    readonly self: string,
    saved?: PersistedState,
    private readonly rt: Pick<Runtime, 'clock' | 'random'> = systemRuntime,
    /** This node's role: its own member entry carries it. */
    readonly role: NodeRole = 'core',
  ) {
    this.clock = new HybridClock(self, () => rt.clock.now());
    if (saved) {
      this.clusterId = saved.cluster_id;
      this.members = this.newMembers(saved.members);
      this.data = this.newData(saved.data);
      for (const e of [...saved.members, ...saved.data]) this.clock.observe(e.ts);
      this.fresh = saved.fresh ?? false;
    } else {
      this.clusterId = this.newClusterId();
      this.members = this.newMembers([this.ownEntry()]);
      this.data = this.newData();
      this.fresh = true;
    }
    this.saved = { clusterId: this.clusterId, fresh: this.fresh };
    this.replaced = false; // what the constructor built is what was read or is written at start
  }

  get members(): LwwMap<MemberEntry> {
    return this._members;
  }

  get data(): LwwMap<DataEntry> {
    return this._data;
  }

  private set members(m: LwwMap<MemberEntry>) {
    this._members = m;
    this.replaced = true;
  }

  private set data(d: LwwMap<DataEntry>) {
    this._data = d;
    this.replaced = true;
  }

  private newMembers(entries: Iterable<MemberEntry> = []): LwwMap<MemberEntry> {
    return new LwwMap(entries, (k) => this.changedMembers.add(k));
  }

  private newData(entries: Iterable<DataEntry> = []): LwwMap<DataEntry> {
    return new LwwMap(entries, (k) => this.changedData.add(k));
  }

  private newClusterId(): string {
    return this.rt.random.hex(8);
  }

  /** This node as a member, stamped now. */
  ownEntry(): MemberEntry {
    return this.role === 'replicant' ? { key: this.self, state: 'member', ts: this.clock.now(), role: 'replicant' } : { key: this.self, state: 'member', ts: this.clock.now() };
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
    this.members = this.newMembers([this.ownEntry()]);
    this.fresh = false;
    return { old };
  }

  /** Moves to another cluster: its id, an empty member list to merge its members into, and this node's data kept or dropped. */
  moveTo(clusterId: string, keepData: boolean): void {
    this.clusterId = clusterId;
    this.members = this.newMembers();
    if (!keepData) this.data = this.newData();
  }

  /**
   * What changed since the last call, for the state log: undefined when nothing did, 'whole' when
   * the member list or the data were replaced (only a snapshot says that).
   */
  changes(): StateChange | 'whole' | undefined {
    const { changedMembers: m, changedData: d } = this;
    const replaced = this.replaced;
    const same = this.saved.clusterId === this.clusterId && this.saved.fresh === this.fresh;
    this.replaced = false;
    this.saved = { clusterId: this.clusterId, fresh: this.fresh };
    if (replaced) {
      m.clear();
      d.clear();
      return 'whole';
    }
    if (same && !m.size && !d.size) return undefined;
    const change: StateChange = { cluster_id: this.clusterId, fresh: this.fresh || undefined };
    for (const k of m) {
      const e = this.members.get(k);
      if (e) (change.members ??= []).push(e);
      else (change.dropped_members ??= []).push(k);
    }
    for (const k of d) {
      const e = this.data.get(k);
      if (e) (change.data ??= []).push(e);
      else (change.dropped_data ??= []).push(k);
    }
    m.clear();
    d.clear();
    return change;
  }

  /** What the state file holds (liveness is not kept: after a restart a node learns afresh who is up). */
  persisted(): PersistedState {
    return { format: 1, node: this.self, cluster_id: this.clusterId, members: [...this.members.values()], data: [...this.data.values()], fresh: this.fresh || undefined };
  }
}
