import { createHash } from 'node:crypto';
import type { z } from 'zod/v3';
import type { Logger } from 'pino';
import { familyOf, type Config } from '../config/schema';
import type { TlsMaterial } from '../transport/tls';
import { parseNodeName } from '../config/node-name';
import { StateWriter, type PersistedState } from '../store/state-file';
import { Connection, PeerError } from '../transport/connection';
import { HostResolver } from '../transport/address';
import {
  infoReplySchema,
  gossipChangeSchema,
  joinReplySchema,
  syncSchema,
  checkSyncEntries,
  sameAlive,
  sameMemberEntry,
  type KnownEntries,
  type SyncWire,
  type GossipBody,
  type Op,
  type InfoReply,
  type OpBody,
  type SyncBody,
} from '../transport/messages';
import type { Alive, ClusterState, DataEntry, MemberEntry } from '../domain/state';
import { PeerManager } from './peers';
import { Liveness, type Transition } from './liveness';
import { neighbours } from './overlay';
import { Flood } from './flood';
import { NodeLog } from './node-log';
import { Tombstones } from './tombstones';
import { Replica } from './replica';
import { Partitions, type Partition } from './partitions';
import { ProbeLinks } from '../discovery/probe-links';
import { Prober } from './prober';
import { AntiEntropy } from './anti-entropy';
import { LocalHealth } from './local-health';
import { detectionBoundMs, mayAutoclean } from './failure-policy';
import { formatDuration } from '../config/duration';
import { DEFAULT_TUNING, type Tuning } from '../tuning';
import { systemRuntime, type Runtime, type Timer } from '../runtime';
import { sleep } from '../runtime/clock';


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

/** An answer checked against its schema; a malformed one fails the request like a refusal. */
function parseReply<S extends z.ZodTypeAny>(schema: S, reply: unknown, op: string, from: string): z.infer<S> {
  const parsed = schema.safeParse(reply);
  if (!parsed.success) throw new PeerError('protocol', `malformed '${op}' answer from ${from}`);
  return parsed.data;
}

const sorted = (xs: Iterable<string>) => [...xs].sort();

/**
 * One node's view of its cluster: the member list and the replicated data (both last-writer-wins
 * maps under a hybrid logical clock), the links to the other members, and the operations of
 * `muster ctl cluster ...` and `muster ctl data ...`.
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
  private localAddress?: string;
  hooks: ClusterHooks = {};
  private joining = false;
  readonly resolver: HostResolver;
  private firstSyncDone = false;
  /** Absences, partitions and what autoheal and autoclean decide from them. */
  private readonly partitions: Partitions;
  /** Members known to hold each tombstone, and when it arrived here. */
  private readonly tombstones = new Tombstones();
  private maintenance?: Timer;
  /** Set by stop(): loops of its own (the autoheal rejoin) end. */
  private stopping = false;
  private rejoinWait?: Timer;
  private readonly writer: StateWriter;
  /** Probe links kept for a moment: the join or the next look that usually follows reuses them. */
  private readonly probeLinks: ProbeLinks;
  /** When the state last changed: a state that changed moments ago is likely news to a peer. */
  private changedAt = 0;
  /** Joins accepted in this turn of the event loop, announced to the members in one message. */
  private announcing?: { cluster_id: string; members: MemberEntry[]; alive: Alive[] };
  /** Which members' processes are up: heard from them, or from the neighbours that lost them. */
  private readonly liveness: Liveness;
  private readonly flood: Flood;
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
    private readonly cfg: Config,
    private readonly log: Logger,
    private readonly replica: Replica,
    private readonly tls?: TlsMaterial,
    private readonly tuning: Tuning = DEFAULT_TUNING,
    private readonly rt: Runtime = systemRuntime,
  ) {
    this.name = cfg.node.name;
    this.boot = rt.random.hex(8);
    this.health = new LocalHealth(tuning.health);
    this.flood = new Flood(tuning.gossip, rt);
    this.nodeLog = new NodeLog(log, tuning.log.bulkNodes, rt.clock);
    this.probeLinks = new ProbeLinks(tuning.join.probeLinkKeepMs, rt.clock);
    this.partitions = new Partitions(cfg.cluster.autoheal, log, () => this.peers.setWanted(this.wantedPeers(), this.memberNames()), rt.clock);
    this.liveness = new Liveness(this.name, this.boot, () => rt.clock.now());
    this.resolver = new HostResolver(familyOf(cfg), cfg.cluster.dns.servers);
    this.writer = new StateWriter(
      cfg.node.data_dir,
      () => this.persistedState(),
      (e) => log.error({ err: e.message }, `${e.message}; the change is held in memory and written with the next one`),
      tuning.store.saveSoonMs,
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
        this.syncLink(conn);
      },
    });
    const fd = cfg.cluster.failure_detector;
    this.antiEntropy = new AntiEntropy(() => this.peers.upLinks(), (conn) => this.syncLink(conn, true), tuning.sync, rt.clock, rt.random);
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
  private wantedPeers(): string[] {
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
  private digest(): string {
    return createHash('sha256').update(`${this.replica.members.digest()}${this.replica.data.digest()}${this.liveness.digest()}`).digest('hex').slice(0, 32);
  }

  /** This node and the members its liveness view shows up (less those kept apart). */
  private runningNodes(): string[] {
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
  private persist(): Promise<void> {
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
  private persistSoon(): void {
    this.changedAt = this.rt.clock.now();
    this.writer.saveSoon();
  }

  private observeAll(entries: { ts: MemberEntry['ts'] }[]): void {
    for (const e of entries) this.replica.clock.observe(e.ts);
  }

  /** Merges member entries from a peer and reacts to what changed; returns the changes. */
  private mergeMembers(entries: MemberEntry[]): MemberEntry[] {
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
  private mergeData(entries: DataEntry[], from?: string): DataEntry[] {
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
  private applyAlive(records: Alive[], reason?: string): Alive[] {
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
    if (refuted) this.announce({ alive: [this.liveness.ownRecord] });
    return changed;
  }

  /** This node saw a member go down: its view changes, and every member hears it. */
  private claimDown(peer: string, boot: string, orderly: boolean, reason: string): void {
    if (!this.isMember(peer)) return;
    const claim = this.liveness.downClaim(peer, boot, orderly, this.name);
    if (!claim) return;
    this.applyAlive([claim], reason);
    this.announce({ alive: [claim] });
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
  private queueReconcile(): void {
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
        if (self.reason === 'autoclean' && this.cfg.cluster.autoheal) void this.rejoinAfterAutoclean(self.by, formerMembers);
        return;
      }
      for (const r of this.liveness.values()) if (!this.isMember(r.node)) this.liveness.delete(r.node);
      this.peers.setWanted(this.wantedPeers(), this.memberNames());
      this.prober.replan();
    });
  }

  /** What this node remembers about the members of the cluster it was in, dropped when it changes cluster. */
  private forgetPeerHistory(): void {
    this.partitions.clear();
  }

  private becomeStandalone(why: string): void {
    const { old } = this.replica.becomeStandalone();
    this.forgetPeerHistory();
    this.liveness.reset();
    this.persist();
    this.peers.setWanted([], []);
    this.log.warn({ old_cluster_id: old, cluster_id: this.replica.clusterId, reason: why }, `now standalone: ${why}; data kept (${this.replica.data.values().length} key(s))`);
  }

  /** A new change of this node's, to spread over its links except `exclude` (the one it came from). */
  private outgoing(change: Pick<GossipBody, 'members' | 'data' | 'alive'>, exclude: Connection | undefined, oneway?: true): { body: GossipBody; links: Connection[] } {
    const body: GossipBody = { cluster_id: this.replica.clusterId, id: this.flood.newId(), budget_ms: this.tuning.gossip.ackTimeoutMs, oneway, ...change };
    return { body, links: this.peers.upLinks().filter((c) => c !== exclude) };
  }

  /**
   * Spreads a change to every member over the links (membership/flood.ts) and waits until it is
   * acknowledged: writes, leaves, removals. `failed` names the running members it did not reach in
   * time. `exclude`: a link the change came from.
   */
  private async broadcast(change: Pick<GossipBody, 'members' | 'data' | 'alive'>, exclude?: Connection): Promise<{ acked: string[]; failed: string[] }> {
    const { body, links } = this.outgoing(change, exclude);
    const { reached } = await this.flood.spread(links, body);
    reached.delete(this.name);
    const acked = sorted(reached);
    const failed = this.runningNodes().filter((m) => m !== this.name && !reached.has(m) && m !== exclude?.peerName);
    const what = change.data ? 'write' : 'membership change';
    if (failed.length) this.log.warn({ failed }, `${what} not acknowledged by ${failed.join(', ')}; they catch up when their links sync again`);
    return { acked, failed };
  }

  /**
   * Spreads news nobody waits for, one way (membership/flood.ts): who is up or down, joins, what a
   * link's sync brought. A member that misses it learns it at its next sync.
   */
  private announce(change: Pick<GossipBody, 'members' | 'data' | 'alive'>, exclude?: Connection): void {
    const { body, links } = this.outgoing(change, exclude, true);
    this.flood.cast(links, body);
  }

  /**
   * A change this node has seen gets the answer relay gives it, without its schema checked first:
   * news comes to a member over most of its links (about 8 of every 9 copies are repeats), and at
   * N = 100 the checks were a large part of an agent's CPU.
   */
  private readonly seenGossip = (op: Op, raw: unknown): { acked: string[] } | undefined => {
    if (op !== 'gossip' || typeof raw !== 'object' || raw === null) return undefined;
    const id = (raw as { id?: unknown }).id;
    return typeof id === 'string' && this.flood.seenBefore(id) ? { acked: [] } : undefined;
  };

  /** A change spread by another member: apply it once, pass it on, answer with who was reached. */
  private async relay(h: OpBody<'gossip'>, conn: Connection): Promise<{ acked: string[] }> {
    this.checkCluster(h.cluster_id, conn.peerName);
    if (this.flood.seenBefore(h.id)) return { acked: [] };
    const change = gossipChangeSchema.safeParse(h);
    if (!change.success) throw new PeerError('bad_request', `malformed change in 'gossip' from ${conn.peerName}`);
    this.flood.markSeen(h.id);
    const b: GossipBody = { cluster_id: h.cluster_id, id: h.id, budget_ms: h.budget_ms, oneway: h.oneway, ...change.data };
    const members = b.members ? this.mergeMembers(b.members) : [];
    const data = b.data ? this.mergeData(b.data, conn.peerName) : [];
    const alive = b.alive ? this.applyAlive(b.alive) : [];
    const links = this.peers.upLinks().filter((c) => c !== conn);
    if (b.oneway) {
      // News this node already had goes no further: every neighbour of a crashed member claims it
      // at once, and each claim would otherwise cross every link of the cluster. Whoever learned
      // it first (by gossip, a sync or a join) spread it, so the members beyond have it.
      if (members.length || data.length || alive.length) {
        if (members.length || data.length) this.persistSoon();
        this.flood.cast(links, b);
        this.queueReconcile();
      }
      return { acked: [this.name] };
    }
    // Stored before it is acknowledged, while it goes on to the next members.
    const saved = members.length || data.length ? this.persist() : undefined;
    const [{ reached }] = await Promise.all([this.flood.spread(links, b), saved]);
    // The members reached through this node hold the tombstones it passed on.
    for (const e of b.data ?? []) if (e.value === null) for (const m of reached) this.tombstones.heldBy(e.key, m);
    this.queueReconcile();
    return { acked: [this.name, ...reached] };
  }

  private checkCluster(clusterId: string, from: string): void {
    if (clusterId !== this.replica.clusterId) {
      throw new PeerError('other_cluster', `${from} is in another cluster (id ${clusterId}); this node is in ${this.replica.clusterId}`);
    }
  }

  /** No state of its own and alone: a cluster that lists this node may take it back. */
  private adoptable(): boolean {
    return this.replica.fresh && this.memberNames().length <= 1;
  }

  /**
   * A node with no state of its own (first boot, or its data dir was lost) that a cluster lists as
   * a member is taken back by that cluster: it adopts the cluster's state and syncs.
   */
  private adoptIfFresh(state: ClusterState, from: string): void {
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

  /** With autoheal, a node autocleaned while cut off asks its former cluster to take it back. */
  private async rejoinAfterAutoclean(by: string | undefined, formerMembers: string[]): Promise<void> {
    const targets = [...new Set([by, ...formerMembers].filter((n): n is string => !!n && n !== this.name))];
    const { rejoinAttempts, rejoinBackoffMinMs, rejoinBackoffMaxMs } = this.tuning.autoheal;
    for (let attempt = 0; attempt < rejoinAttempts && !this.stopping; attempt++) {
      for (const t of targets) {
        if (this.stopping) return;
        try {
          await this.join(t, { keepData: true, why: 'autoheal: autoclean removed this node while it was cut off' });
          return;
        } catch (e) {
          // join() logged why; the next target, then a longer wait.
          this.log.debug({ target: t, attempt, err: (e as Error).message }, `autoheal: rejoining through ${t} failed`);
        }
      }
      await new Promise<void>((r) => {
        this.rejoinWait = this.rt.clock.setTimeout(r, Math.min(rejoinBackoffMaxMs, rejoinBackoffMinMs * 2 ** attempt));
      });
      this.rejoinWait = undefined;
      if (this.memberNames().length > 1) return;
    }
    if (this.stopping) return;
    this.log.warn({ targets }, 'autoheal: could not rejoin the former cluster; run cluster join to bring this node back');
  }

  /** Autoclean and tombstone collection. */
  private maintain(): void {
    const now = this.rt.clock.now();
    this.peers.sweep(now);
    this.flood.prune(now);
    const status = this.status();
    const autoclean = this.cfg.cluster.autoclean;
    if (autoclean > 0 && status.stopped_nodes.length) {
      const overdue = this.partitions.downFor(status.stopped_nodes, autoclean, now);
      if (overdue.length && status.timings.autoclean_allowed) {
        for (const m of overdue) {
          // Not awaited (maintenance runs on a timer): a failure is logged, and the next look tries again.
          this.removeMember(m, 'autoclean').catch((e: Error) => this.log.error({ peer: m, err: e.message }, `autoclean could not remove ${m}: ${e.message}; trying again at the next look`));
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
    conn.onRequest((op, body, c) => this.handlePeer(op, body, c), this.seenGossip);
    if (conn.role === 'node') this.peers.offer(conn);
  }

  /** Every kept link; the dialer starts the state sync, the acceptor answers it. */
  private onLink(conn: Connection): void {
    conn.onRequest((op, body, c) => this.handlePeer(op, body, c), this.seenGossip);
    conn.on('rejected', (code: string) => {
      if (code === 'partitioned') this.partitions.keepApart(conn.peerName, conn.peerBoot);
    });
    if (conn.dialer === 'local') this.syncLink(conn);
  }

  /**
   * Syncs the states on a link: the dialer of a new link does, and the side that saw a peer come
   * back on a kept link (it may have missed writes meanwhile). A partition kept apart ends it.
   */
  private syncLink(conn: Connection, digestFirst = false): void {
    if (this.partitions.refuses(conn.peerName, conn.peerBoot)) {
      conn.sendReject('partitioned', `${this.name} keeps ${conn.peerName} apart after a partition (autoheal = false)`);
      conn.close('kept apart after a partition (autoheal = false)');
      return;
    }
    this.exchange(conn, digestFirst).catch((e: Error) => {
      if (!(e instanceof PeerError)) {
        // Not the peer's doing (a failed disk write while merging, a bug): say so, then drop the link.
        this.log.error({ peer: conn.peerName, err: e.message }, `sync with ${conn.peerName} failed here: ${e.message}`);
        return conn.dismiss(`sync failed: ${e.message}`);
      }
      // A member in another cluster moved away while we could not hear it leave; discovery (or an
      // operator's force-leave) settles it. Removing it here on a possibly stale view could undo a join.
      if (e.code === 'other_cluster') this.log.info({ peer: conn.peerName, reason: e.message }, `not linking to ${conn.peerName}: ${e.message}`);
      if (e.code === 'partitioned') this.partitions.keepApart(conn.peerName, conn.peerBoot);
      // An anti-entropy offer on a link that is up and unanswered in time: a slow peer, which the
      // prober judges; dropping the link would claim it down on this node's word alone.
      if (digestFirst && (e.code === 'timeout' || e.code === 'closed')) {
        this.log.debug({ peer: conn.peerName, reason: e.message }, `anti-entropy with ${conn.peerName} did not finish: ${e.message}`);
        return;
      }
      // A first sync that timed out means a slow peer, not a lost one: the peer links again, and
      // the prober judges whether it still answers.
      conn.dismiss(e.message);
    });
  }

  /**
   * This side's half of a state sync. It offers its digest; the other side answers with its own
   * digest alone when they match (the usual case in a formed cluster, so a new link costs two small
   * frames however large the state), or with its entries and `want` when they differ, and this
   * node then sends its entries. Sending whole states on every link made forming a cluster cost
   * O(N^3): N^2 / 2 links, each carrying two lists of N members. A state that changed in the last
   * few seconds (a cluster forming) goes with the first request: it is likely news to the peer,
   * and the digest alone would only cost a second round trip.
   */
  private async exchange(conn: Connection, digestFirst: boolean): Promise<void> {
    const first = await this.requestSync(conn, !digestFirst && this.rt.clock.now() - this.changedAt < this.tuning.sync.freshStateMs);
    // A node with no state of its own, in a cluster of its own, wants ours to see whether our
    // cluster lists it (an answer in its state, not an error): it gets our entries next.
    const wantsState = first.cluster_id !== this.replica.clusterId && first.want === true && first.members === undefined;
    if (first.cluster_id !== this.replica.clusterId && !wantsState) return conn.dismiss('peer changed cluster');
    if (!wantsState) this.applySync(first, conn);
    // No `want`: the peer had this node's entries (sent with the request) or the same digest; with
    // `want`, once it has answered the second request. Then it holds every tombstone held here.
    if (!first.want) return this.tombstones.allHeldBy(conn.peerName);
    const second = await this.requestSync(conn, true);
    if (second.cluster_id !== this.replica.clusterId) return conn.dismiss('peer changed cluster');
    this.applySync(second, conn);
    this.tombstones.allHeldBy(conn.peerName);
  }

  private async requestSync(conn: Connection, withEntries: boolean): Promise<SyncBody> {
    const body: SyncBody = withEntries ? { ...this.snapshot(), digest: this.digest() } : { cluster_id: this.replica.clusterId, digest: this.digest() };
    const reply = await conn.request('sync', body, this.tuning.sync.requestTimeoutMs);
    return this.checkSync(parseReply(syncSchema, reply, 'sync', conn.peerName), () => new PeerError('protocol', `malformed 'sync' answer from ${conn.peerName}`));
  }

  /**
   * Entries of this node's own cluster equal to ones it holds (about other members) are left out of
   * a sync unchecked (`checkSyncEntries`). A sync from another cluster is checked whole: a fresh
   * node may adopt it, and would then need all of it.
   */
  private readonly knownEntries: KnownEntries = {
    member: (e) => {
      const held = e.key !== this.name ? this.replica.members.get(e.key as string) : undefined;
      return held !== undefined && sameMemberEntry(held, e);
    },
    alive: (r) => {
      const held = r.node !== this.name ? this.liveness.get(r.node as string) : undefined;
      return held !== undefined && sameAlive(held, r);
    },
  };

  private checkSync(wire: SyncWire, malformed: () => PeerError): SyncBody {
    const b = checkSyncEntries(wire, wire.cluster_id === this.replica.clusterId ? this.knownEntries : undefined);
    if (!b) throw malformed();
    return b;
  }

  /** The other side's half: merge what came, answer with a digest, or entries where they differ. */
  private answerSync(b: SyncBody, conn: Connection): SyncBody {
    if (b.cluster_id !== this.replica.clusterId) {
      // No state of its own yet: ask for the peer's entries, in its own cluster's name (exchange() sends them).
      if (!b.members && this.adoptable()) return { cluster_id: this.replica.clusterId, digest: this.digest(), want: true };
      if (b.members) this.adoptIfFresh({ cluster_id: b.cluster_id, members: b.members, data: b.data ?? [] }, conn.peerName);
    }
    this.checkCluster(b.cluster_id, conn.peerName);
    if (this.isMember(conn.peerName) && this.partitions.refuses(conn.peerName, conn.peerBoot)) {
      throw new PeerError('partitioned', `${this.name} keeps ${conn.peerName} apart after a partition (autoheal = false)`);
    }
    this.applySync(b, conn);
    const digest = this.digest();
    if (digest === b.digest) {
      // The same state on both sides: the peer holds every tombstone held here.
      this.tombstones.allHeldBy(conn.peerName);
      return { cluster_id: this.replica.clusterId, digest };
    }
    // They lack entries of ours; if they sent only their digest, we may lack theirs too.
    return { ...this.snapshot(), digest, want: b.members === undefined || undefined };
  }

  private applySync(state: Pick<SyncBody, 'members' | 'data' | 'alive'>, conn: Connection): void {
    const peer = conn.peerName;
    // Up first, so that what is spread below reaches the peer too.
    if (this.isMember(peer)) this.peers.markUp(conn);
    const members = state.members ? this.mergeMembers(state.members) : [];
    const data = state.data ? this.mergeData(state.data, peer) : [];
    const alive = state.alive ? this.applyAlive(state.alive) : [];
    if (members.length || data.length) this.persistSoon();
    this.firstSyncDone = true;
    if (this.isMember(peer)) this.peers.markUp(conn);
    // What the link brought is news here, so likely to this node's side of the cluster too (two
    // sides of a partition meet on a few links): pass it on. A peer that had not heard that this
    // node runs (it restarted, or was taken for down) is told, and so is everyone through it.
    const stale = state.alive && this.liveness.staleAboutSelf(state.alive.find((r) => r.node === this.name));
    if (stale) alive.push(this.liveness.ownRecord);
    if (members.length || data.length || alive.length) {
      this.announce({ members: members.length ? members : undefined, data: data.length ? data : undefined, alive: alive.length ? alive : undefined }, stale ? undefined : conn);
    }
    this.queueReconcile();
  }

  private async handlePeer(op: Op, body: unknown, conn: Connection): Promise<unknown> {
    switch (op) {
      case 'sync':
        return this.answerSync(this.checkSync(body as OpBody<'sync'>, () => new PeerError('bad_request', `malformed 'sync' request`)), conn);
      case 'gossip':
        return this.relay(body as OpBody<'gossip'>, conn);
      case 'join':
        return this.acceptJoin(conn.peerName, body as OpBody<'join'>);
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

  // ---- cluster join / leave / force-leave ----------------------------------------------------

  /** On the member asked by a joiner: add it (and its data, when it keeps it), tell everyone, hand it the state. */
  private async acceptJoin(joiner: string, body: OpBody<'join'>): Promise<ClusterState> {
    if (body.ts) this.replica.clock.observe(body.ts);
    // While this node is itself moving to another cluster, admitting anyone would strand them.
    if (this.joining) throw new PeerError('busy', `${this.name} is joining another cluster right now; try again`);
    if (body.data?.length) {
      const changed = this.mergeData(body.data);
      if (changed.length) await this.broadcast({ data: changed });
    }
    // The joiner's own record says it runs; a record about anyone else is not its to give.
    const alive = body.alive?.node === joiner ? [body.alive] : [];
    if (body.cluster_id === this.replica.clusterId && this.isMember(joiner)) {
      await this.persist();
      const changed = this.applyAlive(alive);
      if (changed.length) this.announce({ alive: changed });
      return this.snapshot();
    }
    const entry: MemberEntry = { key: joiner, state: 'member', ts: this.replica.clock.now() };
    this.replica.members.merge(entry);
    this.applyAlive(alive);
    // Saved soon, not awaited: the joiner keeps (and saves) the member list it is answered with and
    // syncs it to its neighbours, so the entry outlives this node. Waiting for the disk here put a
    // whole save (several turns of a starved event loop) in front of every join.
    this.persistSoon();
    this.log.info({ peer: joiner }, `${joiner} joins the cluster through this node`);
    // The joiner need not wait for this: it has the state in the answer, and links to its neighbours.
    this.announceJoin(entry, alive);
    this.queueReconcile();
    return this.snapshot();
  }

  /**
   * Nodes starting together ask to join in bursts: the joins accepted in one turn of the event loop
   * go to the members as one message, not one message per joiner per member.
   */
  private announceJoin(entry: MemberEntry, alive: Alive[]): void {
    if (this.announcing) {
      this.announcing.members.push(entry);
      this.announcing.alive.push(...alive);
      return;
    }
    const batch = (this.announcing = { cluster_id: this.replica.clusterId, members: [entry], alive: [...alive] });
    this.rt.clock.setImmediate(() => {
      this.announcing = undefined;
      // A batch from a cluster this node has left since is not news to the new one.
      if (batch.cluster_id === this.replica.clusterId) this.announce({ members: batch.members, alive: batch.alive.length ? batch.alive : undefined });
    });
  }

  /**
   * Joins the cluster of `target`. `muster ctl cluster join` drops this node's data and takes the
   * cluster's (as EMQX does); autocluster passes `keepData` so that islands merging lose nothing.
   */
  async join(target: string, opts: { keepData?: boolean; why?: string } = {}): Promise<Status> {
    if (target === this.name) throw new PeerError('refused', 'a node cannot join itself');
    if (this.isMember(target) && this.liveness.isUp(target)) throw new PeerError('already_member', `already in the cluster of ${target}`);
    const why = opts.why ?? 'requested by muster ctl';
    this.joining = true;
    let state: ClusterState;
    try {
      state = await this.requestJoin(target, opts.keepData ? [...this.replica.data.values()] : undefined);
    } catch (e) {
      this.joining = false;
      const err = e as PeerError;
      this.log.warn({ target, reason: err.message, code: err.code }, `cannot join the cluster of ${target}: ${err.message}; nothing changed`);
      throw e;
    }
    try {
      await this.adopt(target, state, why, !!opts.keepData);
    } catch (e) {
      this.log.error({ target, err: (e as Error).message }, `admitted by the cluster of ${target}, but taking its state failed: ${(e as Error).message}`);
      throw e;
    } finally {
      this.joining = false;
    }
    this.queueReconcile();
    this.hooks.onJoined?.();
    // For people at a terminal, report the status once the links are up; discovery need not wait.
    if (!opts.keepData) await this.waitForLinks(this.tuning.join.settleMs);
    return this.status();
  }

  /** Takes the state the cluster handed over; keeps or drops this node's own data. */
  private async adopt(target: string, state: ClusterState, why: string, keepData: boolean): Promise<void> {
    this.replica.fresh = false;
    this.firstSyncDone = true;
    if (state.cluster_id === this.replica.clusterId) {
      // Already in that cluster (its link was down): nothing to drop, just merge.
      if (this.mergeMembers(state.members).length + this.mergeData(state.data).length) this.persist();
      this.applyAlive(state.alive ?? []);
      this.peers.setWanted(this.wantedPeers(), this.memberNames());
    } else {
      // Our leave entry in the old cluster must be stamped after everything the new cluster knows.
      this.observeAll(state.members);
      const previous = this.memberNames().filter((n) => n !== this.name);
      if (previous.length) await this.leaveCurrent(`joining the cluster of ${target}`);
      this.peers.dismissAll('joined another cluster');
      const dropped = keepData ? 0 : this.replica.data.values().filter((e) => e.value !== null).length;
      this.replica.moveTo(state.cluster_id, keepData);
      this.forgetPeerHistory();
      if (!keepData) this.tombstones.clear();
      this.liveness.reset();
      this.mergeMembers(state.members);
      this.mergeData(state.data, target);
      this.applyAlive(state.alive ?? []);
      // Linking to the neighbours need not wait for the disk; the join answers once it is saved.
      this.peers.setWanted(this.wantedPeers(), this.memberNames());
      await this.persist();
      this.log.info(
        { target, cluster_id: this.replica.clusterId, members: this.memberNames(), dropped_keys: dropped },
        `joined the cluster of ${target} (${why}): ${this.memberNames().length} member(s); ` +
          (keepData ? `kept this node's data, merged with the cluster's` : `dropped ${dropped} local key(s), took ${Object.keys(this.list()).length} from the cluster`),
      );
    }
  }

  /** A one-off authenticated connection for a join or a discovery probe. */
  private async dialJoinRole(target: string): Promise<Connection> {
    const address = await this.resolver.resolve(parseNodeName(target).host);
    return Connection.dial({
      host: address,
      port: this.peers.ports.get(target) ?? this.cfg.cluster.port,
      role: 'join',
      clusterName: this.cfg.cluster.name,
      expectedPeer: target,
      localAddress: this.localAddress,
      tls: this.tls,
      localName: this.name,
      cookie: this.cfg.node.cookie,
      boot: this.boot,
      log: this.log,
      clock: this.rt.clock,
      net: this.rt.net,
    });
  }

  /** Asks `target` to admit this node; nothing changes here until it has answered. */
  private async requestJoin(target: string, data?: DataEntry[]): Promise<ClusterState> {
    const conn = this.probeLinks.take(target) ?? (await this.dialJoinRole(target));
    try {
      return parseReply(joinReplySchema, await conn.request('join', { cluster_id: this.replica.clusterId, data, ts: this.replica.clock.now(), alive: this.liveness.ownRecord }, this.tuning.join.requestTimeoutMs), 'join', target);
    } finally {
      conn.close('join done');
    }
  }

  /**
   * Discovery's question to a found node: which cluster are you in? The connection is kept for a
   * moment, since a join through the same node usually follows and then needs no new handshake.
   */
  async probe(target: string): Promise<ClusterInfo> {
    const kept = this.probeLinks.take(target);
    const conn = kept ?? (await this.dialJoinRole(target));
    let info: ClusterInfo;
    try {
      // A new link's welcome carries the answer; a kept link asks again.
      const reply = !kept && conn.infoInWelcome !== undefined ? conn.infoInWelcome : await conn.request('info', {}, this.tuning.join.infoTimeoutMs);
      info = parseReply(infoReplySchema, reply, 'info', target);
    } catch (e) {
      conn.close('probe failed');
      throw e;
    }
    this.probeLinks.keep(target, conn);
    return info;
  }

  /** The answer to a discovery probe from `peer` (a `join` link's welcome), told to autocluster. */
  probedBy(peer: string): ClusterInfo {
    this.hooks.onProbed?.(peer);
    return this.info();
  }

  info(): ClusterInfo {
    return { cluster_id: this.replica.clusterId, members: this.memberNames(), running: this.status().running_nodes };
  }

  private async waitForLinks(ms: number): Promise<void> {
    const deadline = this.rt.clock.now() + ms;
    while (this.rt.clock.now() < deadline && this.status().stopped_nodes.length) await sleep(this.rt.clock, 50);
  }

  /** Tells the current members this node leaves; returns who acknowledged. */
  private async leaveCurrent(why: string): Promise<{ acked: string[]; failed: string[] }> {
    const entry: MemberEntry = { key: this.name, state: 'removed', ts: this.replica.clock.now(), reason: 'leave', by: this.name };
    this.replica.members.merge(entry);
    await this.persist();
    const result = await this.broadcast({ members: [entry] });
    this.log.info({ acked: result.acked, reason: why }, `left the cluster (${why}); ${result.acked.length} member(s) acknowledged`);
    return result;
  }

  /** `cluster leave`. */
  async leave(): Promise<{ acked: string[]; failed: string[] }> {
    if (this.memberNames().length <= 1) throw new PeerError('not_in_cluster', 'this node is not in a cluster');
    const result = await this.leaveCurrent('cluster leave');
    this.becomeStandalone('this node left');
    await this.hooks.onLeft?.();
    return result;
  }

  /** `cluster force-leave <node>`: removes it everywhere; if it is alive it is told and goes standalone. */
  async forceLeave(node: string): Promise<{ acked: string[]; failed: string[] }> {
    if (node === this.name) throw new PeerError('refused', 'use "cluster leave" to take this node out');
    if (!this.isMember(node)) throw new PeerError('unknown_node', `${node} is not a member of this cluster (members: ${this.memberNames().join(', ')})`);
    return this.removeMember(node, 'force-leave');
  }

  /** Removes a member everywhere (force-leave, autoclean); if it is alive it learns and goes standalone. */
  private async removeMember(node: string, reason: 'force-leave' | 'autoclean'): Promise<{ acked: string[]; failed: string[] }> {
    const entry: MemberEntry = { key: node, state: 'removed', ts: this.replica.clock.now(), reason, by: this.name };
    this.replica.members.merge(entry);
    this.partitions.removed(node);
    await this.persist();
    const why = reason === 'autoclean' ? `stopped for longer than cluster.autoclean = ${formatDuration(this.cfg.cluster.autoclean)}` : 'force-leave';
    this.log.info({ peer: node, reason }, `removing ${node} from the cluster (${why})`);
    // The removed node is among the recipients when it is alive, so it learns and goes standalone.
    const result = await this.broadcast({ members: [entry] });
    this.queueReconcile();
    return result;
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
    const result = await this.broadcast({ data: [entry] });
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
    this.stopping = true;
    this.rt.clock.clearTimeout(this.rejoinWait);
    this.rt.clock.clearInterval(this.maintenance);
    this.prober.stop();
    this.antiEntropy.stop();
    this.probeLinks.closeAll('node is stopping');
    await this.peers.stop('stopping');
    await this.persist().catch(() => undefined);
  }
}
