import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { familyOf, type Config } from '../config/schema';
import type { TlsMaterial } from '../transport/tls';
import type { PersistedState } from '../store/state-file';
import { StateWriter } from '../store/state-writer';
import { Connection, PeerError } from '../transport/connection';
import { HostResolver } from '../transport/address';
import {
  type Op,
  type InfoReply,
  type OpBody,
} from '../transport/messages';
import type { Alive, ClusterState, DataEntry, MemberEntry } from '../domain/state';
import { PeerManager } from './peers';
import { Liveness, type Transition } from './liveness';
import { neighbours } from './overlay';
import { NodeLog } from './node-log';
import { Tombstones } from './tombstones';
import { Replica } from './replica';
import { Partitions, type Partition } from './partitions';
import { Prober } from './prober';
import { Joins } from './joins';
import { Gossip } from './gossip';
import { StateSync } from './sync';
import { AntiEntropy } from './anti-entropy';
import { LocalHealth } from './local-health';
import { detectionBoundMs, mayAutoclean } from './failure-policy';
import { DEFAULT_TUNING, type Tuning } from '../tuning';
import { systemRuntime, type Runtime, type Timer } from '../runtime';


export type ClusterInfo = InfoReply;

/** What the rest of the agent hears about; discovery uses these. */
export interface ClusterHooks {
  onJoined?: () => void;
  onLeft?: () => Promise<void>;
  /** Another node's discovery asked this one which cluster it is in (a `join` link's welcome). */
  onProbed?: (by: string) => void;
  discoveryStatus?: () => DiscoveryStatus | undefined;
}

export interface DiscoveryStatus {
  strategy: string;
  last_run?: string;
  found: string[];
  last_error?: string;
  paused?: string;
}

export interface Status {
  node: string;
  cluster_name: string;
  cluster_id: string;
  discovery_strategy: string;
  running_nodes: string[];
  stopped_nodes: string[];
  discovery?: DiscoveryStatus;
  partitions: Partition[];
  timings: { stopped_after_ms: number; autoclean_after_ms: number; autoclean_allowed: boolean; autoheal: boolean };
}


const sorted = (xs: Iterable<string>) => [...xs].sort();

/**
 * One node's view of its cluster: the member list and the replicated data (both last-writer-wins
 * maps under a hybrid logical clock), the links to the other members, and the operations of
 * `muster ctl cluster ...` and `muster ctl data ...`. It holds the state and its merge rules, wires
 * the parts together and dispatches what peers ask; the parts live beside it: gossip (gossip.ts),
 * the state sync (sync.ts), join and leave (joins.ts), anti-entropy, the prober and the links
 * (peers.ts). Members without `private` are what those parts use of the node; the rest of the
 * agent uses the operations (status, join, leave, force-leave, probe, data).
 */
export class ClusterNode {
  readonly name: string;
  /** This process run's id: a peer tells a restarted node from a stale link by it. */
  readonly boot: string;
  readonly peers: PeerManager;
  private readonly prober: Prober;
  private reconcileQueued = false;
  /** Members added and seen running, logged together at the end of each turn. */
  private readonly nodeLog: NodeLog;
  localAddress?: string;
  hooks: ClusterHooks = {};
  readonly resolver: HostResolver;
  firstSyncDone = false;
  /** Absences, partitions and what autoheal and autoclean decide from them. */
  readonly partitions: Partitions;
  /** Members known to hold each tombstone, and when it arrived here. */
  readonly tombstones = new Tombstones();
  private maintenance?: Timer;
  private readonly writer: StateWriter;
  /** When the state last changed: a state that changed moments ago is likely news to a peer. */
  changedAt = 0;
  /** Which members' processes are up: heard from them, or from the neighbours that lost them. */
  readonly liveness: Liveness;
  /** Changes spread to the members, and those they spread relayed (membership/gossip.ts). */
  readonly gossip: Gossip;
  /** The state sync on a link (membership/sync.ts). */
  readonly sync: StateSync;
  /** Join, leave, force-leave and the discovery probe (membership/joins.ts). */
  readonly joins: Joins;
  /** Digest offers on one link at a time, so a change missed on a link that stayed up is repaired. */
  private readonly antiEntropy: AntiEntropy;
  /** This process's own stalls (Lifeguard): the prober's and the links' timeouts stretch with them. */
  private readonly health: LocalHealth;

  /**
   * The node with its saved state (or a fresh one, written at once: a data dir that cannot be
   * written stops the start before it listens).
   */
  static open(cfg: Config, log: Logger, tls?: TlsMaterial, tuning: Tuning = DEFAULT_TUNING, rt: Runtime = systemRuntime): ClusterNode {
    const saved = rt.disk.read(cfg.node.data_dir);
    if (saved && saved.node !== cfg.node.name) {
      throw new PeerError('config', `node.data_dir ${cfg.node.data_dir} holds the state of ${saved.node}, not ${cfg.node.name}; node names are fixed once a node has data`);
    }
    const replica = new Replica(cfg.node.name, saved, rt);
    if (saved) {
      log.info({ cluster_id: replica.clusterId, members: replica.memberNames() }, `restored state from ${cfg.node.data_dir}: ${replica.memberNames().length} member(s), ${replica.data.values().length} key(s)`);
    } else {
      rt.disk.writeNow(cfg.node.data_dir, replica.persisted());
    }
    return new ClusterNode(cfg, log, replica, tls, tuning, rt);
  }

  /** Does no I/O: `open` reads and writes the state file. */
  constructor(
    readonly cfg: Config,
    readonly log: Logger,
    readonly replica: Replica,
    readonly tls?: TlsMaterial,
    readonly tuning: Tuning = DEFAULT_TUNING,
    readonly rt: Runtime = systemRuntime,
  ) {
    this.name = cfg.node.name;
    this.boot = rt.random.hex(8);
    this.health = new LocalHealth(tuning.health);
    this.nodeLog = new NodeLog(log, tuning.log.bulkNodes, rt.clock);
    this.partitions = new Partitions(cfg.cluster.autoheal, log, () => this.peers.setWanted(this.wantedPeers(), this.memberNames()), rt.clock);
    this.liveness = new Liveness(this.name, this.boot, () => rt.clock.now());
    this.resolver = new HostResolver(familyOf(cfg), cfg.cluster.dns.servers);
    this.writer = new StateWriter(
      cfg.node.data_dir,
      { whole: () => this.persistedState(), changes: () => this.replica.changes() },
      (e) => log.error({ err: e.message }, `${e.message}; the change is held in memory and written with the next one`),
      tuning.store,
      rt.clock,
      rt.disk,
    );
    // Restored tombstones count as arriving now: collected once every member is known to hold them.
    for (const key of replica.tombstoneKeys()) this.tombstones.arrived(key, rt.clock.now());
    this.peers = new PeerManager({
      tuning: tuning.links,
      runtime: rt,
      clusterName: cfg.cluster.name,
      self: this.name,
      cookie: cfg.node.cookie,
      boot: this.boot,
      port: cfg.cluster.port,
      resolver: this.resolver,
      tls,
      log,
      onLink: (conn) => this.onLink(conn),
      onDown: (peer, reason, conn, neighbour, probed) => {
        // Only a neighbour's loss says the member is down: a link kept only until it is closed as
        // unneeded says nothing (its other end may have closed it for the same reason).
        // A process that stalled itself (just thawed, or starved) reads links closed by peers that
        // gave up waiting for it: that says nothing about them (Lifeguard's rule). A goodbye does.
        // The prober's verdict stands: its timeouts were already stretched for the stall.
        if (neighbour && (conn.saidBye || probed || this.health.stallMs(rt.clock.now()) === 0)) this.claimDown(peer, conn.peerBoot, conn.saidBye, reason);
      },
      onUnreachable: (peer, reason, code) => {
        // Shown running by gossip, but this neighbour cannot link to it: with no link up, no one
        // would ever probe it. A member that runs after all answers the claim once it hears it.
        // A peer that closed the handshake runs (it closed it): no claim (a node just thawed
        // from a stop found its own stalled dials closed by peers that had given up on it).
        if (code === 'closed') return;
        // A process that stalled itself (just thawed, or starved) finds its links given up by
        // peers that waited for it: that says nothing about them (Lifeguard's rule).
        if (this.health.stallMs(rt.clock.now()) > 0) return;
        const known = this.liveness.get(peer);
        if (known?.up) this.claimDown(peer, known.boot, false, `cannot link to it: ${reason}`);
      },
      handshakeTimeoutMs: () => 2 * this.health.timeoutMs(cfg.cluster.failure_detector.probe_timeout, rt.clock.now()),
      onRevive: (conn) => {
        this.log.info({ peer: conn.peerName }, `${conn.peerName} answered after all: syncing again on the same link`);
        this.sync.syncLink(conn);
      },
    });
    const fd = cfg.cluster.failure_detector;
    this.gossip = new Gossip(this);
    this.joins = new Joins(this);
    this.sync = new StateSync(this);
    this.antiEntropy = new AntiEntropy(() => this.peers.upLinks(), (conn) => this.sync.syncLink(conn, true), tuning.sync, rt.clock, rt.random);
    this.prober = new Prober(this.peers, { self: this.name, intervalMs: fd.probe_interval, timeoutMs: fd.probe_timeout, running: () => this.runningNodes() }, this.health, log, tuning.health, rt.clock);
  }

  get family(): 4 | 6 {
    return familyOf(this.cfg);
  }

  /** Starts linking to the members found in the saved state, from this node's own address. */
  start(localAddress: string): void {
    this.localAddress = localAddress;
    this.peers.setLocalAddress(localAddress);
    const now = this.rt.clock.now();
    this.partitions.startedWith(this.memberNames().filter((m) => m !== this.name), now);
    this.firstSyncDone = this.memberNames().length === 1;
    this.peers.setWanted(this.wantedPeers(), this.memberNames());
    this.prober.start();
    this.antiEntropy.start();
    this.maintenance = this.rt.clock.setInterval(() => this.maintain(), this.tuning.maintenance.intervalMs);
    this.maintenance.unref();
  }

  /** A member kept apart after a partition (autoheal off): not linked to, not shown running. */
  private apart(m: string): boolean {
    return this.partitions.isApart(m);
  }

  /** Members to keep links to: this node's neighbours in the ring, less those kept apart. */
  wantedPeers(): string[] {
    return [...neighbours(this.name, this.memberNames().filter((m) => !this.apart(m)), (m) => this.liveness.notDown(m))];
  }

  // ---- views -------------------------------------------------------------------------------

  memberNames(): string[] {
    return this.replica.memberNames();
  }

  isMember(node: string): boolean {
    return this.replica.isMember(node);
  }

  snapshot(): ClusterState {
    return { cluster_id: this.replica.clusterId, members: [...this.replica.members.values()], data: [...this.replica.data.values()], alive: this.liveness.values() };
  }

  /**
   * Equal on two nodes exactly when they hold the same member list, data and liveness view; one
   * 128-bit hash of the three, so a digest offer (anti-entropy's, every link's first) stays small.
   */
  digest(): string {
    return createHash('sha256').update(`${this.replica.members.digest()}${this.replica.data.digest()}${this.liveness.digest()}`).digest('hex').slice(0, 32);
  }

  /** This node and the members its liveness view shows up (less those kept apart). */
  runningNodes(): string[] {
    return this.memberNames().filter((n) => n === this.name || (this.liveness.isUp(n) && !this.apart(n)));
  }

  status(): Status {
    const names = this.memberNames();
    const running = this.runningNodes();
    return {
      node: this.name,
      cluster_name: this.cfg.cluster.name,
      cluster_id: this.replica.clusterId,
      discovery_strategy: this.cfg.cluster.discovery_strategy,
      running_nodes: sorted(running),
      stopped_nodes: sorted(names.filter((n) => !running.includes(n))),
      discovery: this.hooks.discoveryStatus?.(),
      partitions: this.partitions.list(),
      timings: {
        stopped_after_ms: detectionBoundMs(this.cfg.cluster.failure_detector.probe_interval, this.cfg.cluster.failure_detector.probe_timeout),
        autoclean_after_ms: this.cfg.cluster.autoclean,
        autoclean_allowed: mayAutoclean(names, running),
        autoheal: this.cfg.cluster.autoheal,
      },
    };
  }

  // ---- replication ---------------------------------------------------------------------------

  private persistedState(): PersistedState {
    return this.replica.persisted();
  }

  /**
   * Saves the state (coalesced, off the event loop). Callers that acknowledge a change to someone
   * await it; the others only start it (a failed write is logged by the writer).
   */
  persist(): Promise<void> {
    this.changedAt = this.rt.clock.now();
    // A failing disk is this node's trouble, not a bug: the writer logged it; the request that
    // waited for the save fails with a code its asker understands (a relay: not acknowledged).
    const done = this.writer.save().catch((e: Error) => {
      throw new PeerError('disk', e.message);
    });
    done.catch(() => undefined);
    return done;
  }

  /**
   * Saves, within half a second, what this node learned from other members and acknowledges to
   * no one: they hold it too, and a node that restarts without it learns it again at its first sync.
   */
  persistSoon(): void {
    this.changedAt = this.rt.clock.now();
    this.writer.saveSoon();
  }

  observeAll(entries: { ts: MemberEntry['ts'] }[]): void {
    for (const e of entries) this.replica.clock.observe(e.ts);
  }

  /** Merges member entries from a peer and reacts to what changed; returns the changes. */
  mergeMembers(entries: MemberEntry[]): MemberEntry[] {
    this.observeAll(entries);
    const changed = this.replica.members.mergeAll(entries);
    const added = changed.filter((e) => e.state === 'member' && e.key !== this.name).map((e) => e.key);
    this.nodeLog.note(added, []);
    for (const e of changed) {
      if (e.state === 'removed' && e.key !== this.name) {
        const why = e.reason === 'leave' ? 'it left' : `${e.reason} by ${e.by ?? 'unknown'}`;
        this.nodeLog.flush();
        this.log.info({ peer: e.key, reason: e.reason, by: e.by }, `${e.key} was removed from the cluster: ${why}`);
      }
    }
    return changed;
  }

  /** Merges data entries; `from` (a peer) evidently holds the tombstones among them. Returns the changes. */
  mergeData(entries: DataEntry[], from?: string): DataEntry[] {
    this.observeAll(entries);
    const changed = this.replica.data.mergeAll(entries);
    for (const e of changed) {
      if (e.value === null) this.tombstones.arrived(e.key, this.rt.clock.now());
      else this.tombstones.forget(e.key);
    }
    if (from) for (const e of entries) if (e.value === null) this.tombstones.heldBy(e.key, from);
    return changed;
  }

  /**
   * Merges liveness records and acts on what changed; returns the records that changed this
   * node's view. A claim that this node is down (it runs: the claim came from a lost link, a
   * missed probe, or the other side of a partition) is answered with a higher incarnation, spread
   * to every member.
   */
  applyAlive(records: Alive[], reason?: string): Alive[] {
    const changed: Alive[] = [];
    const running: string[] = [];
    let refuted = false;
    for (const r of records) {
      const t = this.liveness.merge(r);
      if (!t) continue;
      if (r.node === this.name) {
        refuted = true;
        this.log.info({ by: r.by, inc: t.record.inc }, `${r.by ?? 'a member'} reported this node down: telling the cluster it runs`);
        continue;
      }
      changed.push(r);
      if (this.isMember(r.node) && this.onTransition(t, reason)) running.push(r.node);
    }
    this.nodeLog.note([], running);
    if (refuted) this.gossip.announce({ alive: [this.liveness.ownRecord] });
    return changed;
  }

  /** This node saw a member go down: its view changes, and every member hears it. */
  private claimDown(peer: string, boot: string, orderly: boolean, reason: string): void {
    if (!this.isMember(peer)) return;
    const claim = this.liveness.downClaim(peer, boot, orderly, this.name);
    if (!claim) return;
    this.applyAlive([claim], reason);
    this.gossip.announce({ alive: [claim] });
    // The running members changed: the probe planned for this slot may be of another member now.
    this.queueReconcile();
  }

  /** A member went down or came back, in this node's view; true when it came back (the caller logs that). */
  private onTransition({ record, previous }: Transition, reason?: string): boolean {
    const node = record.node;
    const wasUp = previous?.up === true;
    if (!record.up) {
      if (!wasUp) return false;
      this.partitions.wentDown(node, record.boot, !!record.orderly, record.by === this.name);
      const why = reason ?? (record.orderly ? `it stopped (seen by ${record.by ?? 'a member'})` : `lost by ${record.by ?? 'a member'}`);
      this.nodeLog.flush();
      this.log.warn({ peer: node, reason: why, by: record.by }, `${node} is stopped: ${why}`);
      return false;
    }
    if (wasUp) return false;
    this.partitions.cameBack(node, record.boot);
    return true;
  }

  /**
   * Applies the consequences of the member list after a change, once the current request has
   * answered (so a removed peer still receives the reply that tells it so).
   */
  queueReconcile(): void {
    if (this.reconcileQueued) return;
    this.reconcileQueued = true;
    this.rt.clock.setImmediate(() => {
      this.reconcileQueued = false;
      const self = this.replica.members.get(this.name);
      if (self?.state === 'removed') {
        const why = self.reason === 'leave' ? 'this node left' : `removed by ${self.by ?? 'another member'} (${self.reason ?? 'force-leave'})`;
        const formerMembers = this.memberNames();
        this.becomeStandalone(why);
        // Autoclean took this node out while it was cut off, not an operator: with autoheal it
        // goes back, keeping the writes it took meanwhile. After a force-leave it stays out.
        if (self.reason === 'autoclean' && this.cfg.cluster.autoheal) void this.joins.rejoinAfterAutoclean(self.by, formerMembers);
        return;
      }
      for (const r of this.liveness.values()) if (!this.isMember(r.node)) this.liveness.delete(r.node);
      this.peers.setWanted(this.wantedPeers(), this.memberNames());
      this.prober.replan();
    });
  }

  /** What this node remembers about the members of the cluster it was in, dropped when it changes cluster. */
  forgetPeerHistory(): void {
    this.partitions.clear();
  }

  becomeStandalone(why: string): void {
    const { old } = this.replica.becomeStandalone();
    this.forgetPeerHistory();
    this.liveness.reset();
    this.persist();
    this.peers.setWanted([], []);
    this.log.warn({ old_cluster_id: old, cluster_id: this.replica.clusterId, reason: why }, `now standalone: ${why}; data kept (${this.replica.data.values().length} key(s))`);
  }

  checkCluster(clusterId: string, from: string): void {
    if (clusterId !== this.replica.clusterId) {
      throw new PeerError('other_cluster', `${from} is in another cluster (id ${clusterId}); this node is in ${this.replica.clusterId}`);
    }
  }

  /** No state of its own and alone: a cluster that lists this node may take it back. */
  adoptable(): boolean {
    return this.replica.fresh && this.memberNames().length <= 1;
  }

  /**
   * A node with no state of its own (first boot, or its data dir was lost) that a cluster lists as
   * a member is taken back by that cluster: it adopts the cluster's state and syncs.
   */
  adoptIfFresh(state: ClusterState, from: string): void {
    const me = state.members.find((m) => m.key === this.name);
    if (!this.adoptable() || me?.state !== 'member') return;
    this.replica.moveTo(state.cluster_id, true);
    this.mergeMembers(state.members);
    this.mergeData(state.data, from);
    this.replica.fresh = false;
    this.persist();
    this.log.warn({ peer: from, cluster_id: this.replica.clusterId }, `adopted by the cluster of ${from}: this node had no state (first boot or lost data dir) and the cluster lists it as a member`);
    this.queueReconcile();
  }

  /** Autoclean and tombstone collection. */
  private maintain(): void {
    const now = this.rt.clock.now();
    this.peers.sweep(now);
    this.gossip.flood.prune(now);
    const status = this.status();
    const autoclean = this.cfg.cluster.autoclean;
    if (autoclean > 0 && status.stopped_nodes.length) {
      const overdue = this.partitions.downFor(status.stopped_nodes, autoclean, now);
      if (overdue.length && status.timings.autoclean_allowed) {
        for (const m of overdue) {
          // Not awaited (maintenance runs on a timer): a failure is logged, and the next look tries again.
          this.joins.removeMember(m, 'autoclean').catch((e: Error) => this.log.error({ peer: m, err: e.message }, `autoclean could not remove ${m}: ${e.message}; trying again at the next look`));
        }
      } else if (overdue.length) {
        this.log.debug({ overdue }, 'autoclean on hold: this side of the cluster is not the majority');
      }
    }
    const others = this.memberNames().filter((m) => m !== this.name);
    const collectable = this.tombstones.collect(others, now, this.tuning.maintenance.tombstoneMinAgeMs);
    for (const key of collectable) if (this.replica.data.get(key)?.value === null) this.replica.data.delete(key);
    const collected = collectable.length;
    if (collected) {
      this.persist();
      this.log.debug({ collected }, `collected ${collected} tombstone(s) every member has seen`);
    }
  }

  /** `muster ctl cluster ready`: a running member of a cluster of enough nodes, first sync done. */
  ready(): { ready: boolean; reason: string } {
    const s = this.status();
    const min = this.cfg.cluster.ready_min_nodes;
    if (!s.running_nodes.includes(this.name)) return { ready: false, reason: 'this node is not a running member of its cluster' };
    if (!this.firstSyncDone) return { ready: false, reason: 'first sync with the cluster not finished yet' };
    if (s.running_nodes.length < min) return { ready: false, reason: `${s.running_nodes.length} running member(s), cluster.ready_min_nodes = ${min}` };
    return { ready: true, reason: `running member of a cluster of ${s.running_nodes.length}` };
  }

  // ---- links ---------------------------------------------------------------------------------

  /** Accepted sockets whose handshake said role 'node' (a member link) or 'join' (a join request). */
  acceptLink(conn: Connection): void {
    conn.onRequest((op, body, c) => this.handlePeer(op, body, c), this.gossip.seenGossip);
    if (conn.role === 'node') this.peers.offer(conn);
  }

  /** Every kept link; the dialer starts the state sync, the acceptor answers it. */
  private onLink(conn: Connection): void {
    conn.onRequest((op, body, c) => this.handlePeer(op, body, c), this.gossip.seenGossip);
    conn.on('rejected', (code: string) => {
      if (code === 'partitioned') this.partitions.keepApart(conn.peerName, conn.peerBoot);
    });
    if (conn.dialer === 'local') this.sync.syncLink(conn);
  }

  private async handlePeer(op: Op, body: unknown, conn: Connection): Promise<unknown> {
    switch (op) {
      case 'sync':
        return this.sync.answerSync(this.sync.checkSync(body as OpBody<'sync'>, () => new PeerError('bad_request', `malformed 'sync' request`)), conn);
      case 'gossip':
        return this.gossip.relay(body as OpBody<'gossip'>, conn);
      case 'join':
        return this.joins.acceptJoin(conn.peerName, body as OpBody<'join'>);
      case 'info':
        return this.info();
      case 'ping':
        return {};
      case 'suspect':
        void this.prober.confirm((body as OpBody<'suspect'>).node, conn.peerName);
        return {};
      default:
        throw new PeerError('bad_request', `'${op}' is not a peer operation`);
    }
  }


  // ---- cluster join / leave / force-leave (membership/joins.ts) -------------------------------

  /**
   * Joins the cluster of `target`. `muster ctl cluster join` drops this node's data and takes the
   * cluster's (as EMQX does); autocluster passes `keepData` so that islands merging lose nothing.
   */
  join(target: string, opts: { keepData?: boolean; why?: string } = {}): Promise<Status> {
    return this.joins.join(target, opts);
  }

  /** `cluster leave`. */
  leave(): Promise<{ acked: string[]; failed: string[] }> {
    return this.joins.leave();
  }

  /** `cluster force-leave <node>`: removes it everywhere; if it is alive it is told and goes standalone. */
  forceLeave(node: string): Promise<{ acked: string[]; failed: string[] }> {
    return this.joins.forceLeave(node);
  }

  /** Discovery's question to a found node: which cluster are you in? */
  probe(target: string): Promise<ClusterInfo> {
    return this.joins.probe(target);
  }

  /** The answer to a discovery probe from `peer` (a `join` link's welcome), told to autocluster. */
  probedBy(peer: string): ClusterInfo {
    return this.joins.probedBy(peer);
  }

  info(): ClusterInfo {
    return { cluster_id: this.replica.clusterId, members: this.memberNames(), running: this.status().running_nodes };
  }

  // ---- data ----------------------------------------------------------------------------------

  private async write(key: string, value: string | null): Promise<{ acked: string[]; failed: string[] }> {
    const entry: DataEntry = { key, value, ts: this.replica.clock.now() };
    const previous = this.replica.data.get(key);
    const wasFresh = this.replica.fresh;
    this.replica.fresh = false;
    this.mergeData([entry]);
    try {
      await this.persist();
    } catch (e) {
      // Not on this node's disk, so not acknowledged to anyone: it must not be read here, nor
      // leave this node with a sync. Undone unless a newer write to the key came meanwhile.
      if (this.replica.data.get(key) === entry) {
        this.replica.data.delete(key);
        if (previous) this.mergeData([previous]);
        else this.tombstones.forget(key);
        this.replica.fresh = wasFresh;
      }
      throw e;
    }
    const result = await this.gossip.broadcast({ data: [entry] });
    if (value === null) for (const m of result.acked) this.tombstones.heldBy(key, m);
    return result;
  }

  put(key: string, value: string) {
    return this.write(key, value);
  }

  async del(key: string) {
    if (this.get(key) === undefined) throw new PeerError('not_found', `no key '${key}'`);
    return this.write(key, null);
  }

  get(key: string): string | undefined {
    return this.replica.data.get(key)?.value ?? undefined;
  }

  list(): Record<string, string> {
    // No prototype: a key is data, never an object property ('__proto__' is a key like any other).
    const out: Record<string, string> = Object.create(null);
    for (const e of this.replica.data.values()) if (e.value !== null) out[e.key] = e.value;
    return out;
  }

  async stop(): Promise<void> {
    this.joins.stop();
    this.rt.clock.clearInterval(this.maintenance);
    this.prober.stop();
    this.antiEntropy.stop();
    await this.peers.stop('stopping');
    await this.persist().catch(() => undefined);
  }
}
