import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { familyOf, type Config } from '../config/schema';
import type { TlsMaterial } from '../transport/tls';
import { StateWriter } from '../store/state-writer';
import { Connection, PeerError } from '../transport/connection';
import { HostResolver } from '../transport/address';
import type { Op, OpBody } from '../transport/messages';
import type { ClusterState } from '../domain/state';
import type { PeerManager } from './peers';
import { Liveness } from './liveness';
import { neighbours } from './overlay';
import { pairScore } from './pair-hash';
import { Tombstones } from './tombstones';
import { Replica } from './replica';
import { Partitions } from './partitions';
import { Prober } from './prober';
import { Joins } from './joins';
import { Gossip } from './gossip';
import { StateSync } from './sync';
import { AntiEntropy } from './anti-entropy';
import { LocalHealth } from './local-health';
import { Merges } from './merges';
import { DataApi } from './data-api';
import { Maintenance } from './maintenance';
import { linksFor } from './links';
import { ClusterEvents } from './events';
import { AutohealRejoin } from './autoheal';
import { CoreTrouble, coresFor, roleOf } from './roles';
import { ReplicantHeartbeat } from './replicant-heartbeat';
import { StallWatch } from './stall-watch';
import type { NodeRole } from '../config/schema';
import { Inquiry } from '../discovery/inquiry';
import { infoOf, readinessOf, statusOf, type ClusterInfo, type DiscoveryStatus, type Status } from './status';
import { DEFAULT_TUNING, type Tuning } from '../tuning';
import { systemRuntime, type Runtime } from '../runtime';
import { Stats } from '../observe/stats';

/**
 * One node's view of its cluster, and the wiring of its parts: the replica (members and data,
 * last-writer-wins maps under a hybrid logical clock, replica.ts), what is learned merged into it
 * (merges.ts), the links (peers.ts, links.ts), the prober, gossip, the state sync and anti-entropy,
 * join and leave (joins.ts), partitions and autoheal, autoclean and housekeeping (maintenance.ts),
 * status (status.ts) and the data operations (data-api.ts). It starts and stops them, dispatches what
 * peers ask, and keeps the few views every part needs. The parts work on the state through it.
 */
export class ClusterNode {
  readonly name: string;
  /** This process run's id: a peer tells a restarted node from a stale link by it. */
  readonly boot: string;
  /** node.role: a core forms the cluster; a replicant links to a few cores (membership/roles.ts). */
  readonly role: NodeRole;
  /** On a replicant: cores it passes over for a while (could not link, or full). */
  readonly coreTrouble: CoreTrouble;
  readonly resolver: HostResolver;
  /** What autocluster listens to: joined, left, probed. */
  readonly events = new ClusterEvents();
  /** Discovery's state for `cluster status` (autocluster's, when there is one). */
  discoveryView?: () => DiscoveryStatus;
  localAddress?: string;
  firstSyncDone = false;
  /** When the state last changed: a state that changed moments ago is likely news to a peer. */
  changedAt = 0;
  /** What this node counts about itself, and its recent membership events (`/metrics`, `/api/v1`). */
  readonly stats: Stats;

  /** Which members' processes are up: heard from them, or from the neighbours that lost them. */
  readonly liveness: Liveness;
  /** Absences, partitions and what autoheal and autoclean decide from them. */
  readonly partitions: Partitions;
  /** Members known to hold each tombstone, and when it arrived here. */
  readonly tombstones = new Tombstones();
  /** This process's own stalls (Lifeguard): the prober's and the links' timeouts stretch with them. */
  readonly health: LocalHealth;
  /** Measures this process's stalls while links are being made (woken by dials and accepts). */
  readonly stallWatch: StallWatch;
  readonly merges: Merges;
  readonly peers: PeerManager;
  readonly gossip: Gossip;
  readonly sync: StateSync;
  readonly joins: Joins;
  readonly data: DataApi;
  /** Discovery's "which cluster are you in?", asked and answered. */
  readonly inquiry: Inquiry;
  private readonly autoheal: AutohealRejoin;
  private readonly prober: Prober;
  /** Replicants ping their cores; cores check that their replicants still ping. */
  readonly heartbeat: ReplicantHeartbeat;
  /** Digest offers on one link at a time, so a change missed on a link that stayed up is repaired. */
  private readonly antiEntropy: AntiEntropy;
  private readonly maintenance: Maintenance;
  private readonly writer: StateWriter;
  private reconcileQueued = false;

  /**
   * The node with its saved state (or a fresh one, written at once: a data dir that cannot be
   * written stops the start before it listens).
   */
  static open(cfg: Config, log: Logger, tls?: TlsMaterial, tuning: Tuning = DEFAULT_TUNING, rt: Runtime = systemRuntime): ClusterNode {
    const saved = rt.disk.read(cfg.node.data_dir);
    if (saved && saved.node !== cfg.node.name) {
      throw new PeerError('config', `node.data_dir ${cfg.node.data_dir} holds the state of ${saved.node}, not ${cfg.node.name}; node names are fixed once a node has data`);
    }
    const replica = new Replica(cfg.node.name, saved, rt, cfg.node.role);
    if (saved) {
      log.info({ cluster_id: replica.clusterId, members: replica.memberNames() }, `restored state from ${cfg.node.data_dir}: ${replica.memberNames().length} member(s), ${replica.data.values().length} key(s)`);
      const was = roleOf(replica.members.get(cfg.node.name));
      if (was !== cfg.node.role) {
        // Its cluster knows it in its old role: it starts again as a cluster of one in the new one,
        // and discovery (or cluster join, for a core) takes it back in. A core keeps its data; a
        // replicant's copy is dropped (a core must not bring back values deleted while it was one).
        replica.becomeStandalone();
        if (was === 'replicant') replica.data.clear();
        rt.disk.writeNow(cfg.node.data_dir, replica.persisted());
        log.warn({ cluster_id: replica.clusterId }, `node.role is ${cfg.node.role} but this node was a ${was} of its cluster: starting standalone as a ${cfg.node.role}, data kept`);
      }
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
    this.role = cfg.node.role;
    this.boot = rt.random.hex(8);
    this.coreTrouble = new CoreTrouble(tuning.roles.coreTroubleMs, () => rt.clock.now());
    this.stats = new Stats(() => rt.clock.now(), tuning.observe.eventsKept);
    this.health = new LocalHealth(tuning.health);
    this.stallWatch = new StallWatch(this.health, rt.clock, tuning.health.watchEveryMs, tuning.health.watchForMs);
    this.partitions = new Partitions(cfg.cluster.autoheal, log, () => this.peers.setWanted(this.wantedPeers(), this.memberNames()), rt.clock, this.stats);
    this.liveness = new Liveness(this.name, this.boot, () => rt.clock.now());
    this.resolver = new HostResolver(familyOf(cfg), cfg.cluster.dns.servers);
    this.writer = new StateWriter(
      cfg.node.data_dir,
      { whole: () => this.replica.persisted(), changes: () => this.replica.changes() },
      (e) => log.error({ err: e.message }, `${e.message}; the change is held in memory and written with the next one`),
      tuning.store,
      rt.clock,
      rt.disk,
    );
    // Restored tombstones count as arriving now: collected once every member is known to hold them.
    for (const key of replica.tombstoneKeys()) this.tombstones.arrived(key, rt.clock.now());
    this.merges = new Merges(this);
    this.peers = linksFor(this, tls);
    this.gossip = new Gossip(this);
    this.joins = new Joins(this);
    this.sync = new StateSync(this);
    this.data = new DataApi(this);
    this.inquiry = new Inquiry(this);
    this.autoheal = new AutohealRejoin(this);
    this.maintenance = new Maintenance(this);
    // A core's turn goes round its core links: with hundreds of replicant links in the turn, a core
    // neighbour would be offered a digest once in hours (replicants offer theirs to their cores).
    this.antiEntropy = new AntiEntropy(() => this.coreLinks(), (conn) => this.sync.syncLink(conn, true), tuning.sync, rt.clock, rt.random);
    const fd = cfg.cluster.failure_detector;
    this.heartbeat = new ReplicantHeartbeat(this);
    this.prober = new Prober(this.peers, { self: this.name, intervalMs: fd.probe_interval, timeoutMs: fd.probe_timeout, running: () => this.runningCores(), stats: this.stats, askable: () => this.coreLinks() }, this.health, log, tuning.health, rt.clock);
  }

  get family(): 4 | 6 {
    return familyOf(this.cfg);
  }

  /** Starts linking to the members found in the saved state, from this node's own address. */
  start(localAddress: string): void {
    this.localAddress = localAddress;
    this.peers.setLocalAddress(localAddress);
    this.stallWatch.wake();
    this.partitions.startedWith(this.memberNames().filter((m) => m !== this.name), this.rt.clock.now());
    this.firstSyncDone = this.memberNames().length === 1;
    this.peers.setWanted(this.wantedPeers(), this.memberNames());
    // Cores probe each other in their ring; replicants and their cores watch their links instead.
    if (this.role === 'core') this.prober.start();
    this.heartbeat.start();
    this.antiEntropy.start();
    this.maintenance.start();
  }

  async stop(): Promise<void> {
    this.autoheal.stop();
    this.inquiry.stop();
    this.maintenance.stop();
    this.prober.stop();
    this.heartbeat.stop();
    this.stallWatch.stop();
    this.antiEntropy.stop();
    await this.peers.stop('stopping');
    await this.persist().catch(() => undefined);
  }

  // ---- views every part uses -----------------------------------------------------------------

  memberNames(): string[] {
    return this.replica.memberNames();
  }

  isMember(node: string): boolean {
    return this.replica.isMember(node);
  }

  /**
   * Members to keep links to. A core: its neighbours in the ring of cores, less those kept apart,
   * and the replicants whose first core it is (`coresFor`, as every member works it out), at most
   * tuning.roles.maxReplicantLinks of them; a replicant's other links are its own dials, accepted
   * while the core has room. Wanting them, not only accepting them, is what finds a replicant that
   * froze before its first link came up: the dial fails, as for a core neighbour.
   * A replicant: its few cores, passing over those in trouble here.
   */
  wantedPeers(): string[] {
    const notDown = (m: string) => this.liveness.notDown(m);
    if (this.role === 'replicant') {
      const usable = (c: string) => notDown(c) && !this.coreTrouble.has(c);
      return coresFor(this.name, this.coreNames(), usable, this.tuning.roles.coreLinks);
    }
    const cores = this.coreNames().filter((m) => !this.partitions.isApart(m));
    const mine = this.memberNames().filter((r) => this.isReplicant(r) && notDown(r) && !this.partitions.isApart(r) && this.picksThisCore(r, cores));
    if (mine.length > this.tuning.roles.maxReplicantLinks) {
      mine.sort((a, b) => pairScore(this.name, a) - pairScore(this.name, b));
      mine.length = this.tuning.roles.maxReplicantLinks;
    }
    return [...neighbours(this.name, cores, notDown), ...mine];
  }

  /** Whether this core is replicant `r`'s first, as every member works it out (no node's own trouble in it). */
  private picksThisCore(r: string, cores: readonly string[]): boolean {
    return coresFor(r, cores, (c) => this.liveness.notDown(c), 1)[0] === this.name;
  }

  /**
   * Links kept without being wanted. A core keeps every replicant's that dialled it (one passing
   * over its own cores for a while). A replicant keeps a link from a core that picks it as every
   * member works it out, while it passes that core over itself.
   */
  keepsLinkOf(peer: string): boolean {
    if (this.role === 'core') return this.isReplicant(peer);
    if (this.isReplicant(peer) || !this.isMember(peer)) return false;
    // A core link is let go only once the cores it wants are linked: never down to none meanwhile.
    const wantedUp = this.coreLinks().filter((c) => this.peers.wants(c.peerName)).length;
    return this.picksThisCoreFor(peer) || wantedUp < this.tuning.roles.coreLinks;
  }

  private picksThisCoreFor(core: string): boolean {
    return coresFor(this.name, this.coreNames(), (c) => this.liveness.notDown(c), this.tuning.roles.coreLinks).includes(core);
  }

  /** This node and the members its liveness view shows up (less those kept apart after a partition). */
  runningNodes(): string[] {
    return this.memberNames().filter((n) => n === this.name || (this.liveness.isUp(n) && !this.partitions.isApart(n)));
  }

  /** Whether `node` is a replicant member (a removed one, or one not known, is not). */
  isReplicant(node: string): boolean {
    const e = this.replica.members.get(node);
    return e?.state === 'member' && e.role === 'replicant';
  }

  /** Whether a link to a core is up (what a replicant needs to write and to hear the cores). */
  coreLinked(): boolean {
    return this.coreLinks().length > 0;
  }

  /** The up links to cores. */
  coreLinks(): Connection[] {
    return this.peers.upLinks().filter((c) => !this.isReplicant(c.peerName));
  }

  /**
   * On a core: links of replicants it does not want (they dialled it) past tuning.roles.maxReplicantLinks
   * are let go, as when it came to want more of its own (a core stopped); those replicants link to
   * their next core.
   */
  shedReplicants(): void {
    if (this.role !== 'core') return;
    const max = this.tuning.roles.maxReplicantLinks;
    let over = this.peers.linkCount((p) => this.isReplicant(p)) - max;
    if (over <= 0) return;
    for (const conn of this.peers.upLinks()) {
      if (over <= 0) break;
      if (!this.isReplicant(conn.peerName) || this.peers.wants(conn.peerName)) continue;
      conn.sendReject('full', `${this.name} carries more replicants than it takes (tuning.roles.maxReplicantLinks = ${max})`);
      conn.close('full');
      over--;
    }
  }

  /** The core members, this node among them when it is one. */
  coreNames(): string[] {
    return this.memberNames().filter((m) => !this.isReplicant(m));
  }

  /** The running core members: who probes whom, who must acknowledge a change, who decides autoclean. */
  runningCores(): string[] {
    return this.runningNodes().filter((m) => !this.isReplicant(m));
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

  status(): Status {
    return statusOf(this);
  }

  ready(): { ready: boolean; reason: string } {
    return readinessOf(this);
  }

  info(): ClusterInfo {
    return infoOf(this);
  }

  // ---- state changes -------------------------------------------------------------------------

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
        if (self.reason === 'autoclean' && this.cfg.cluster.autoheal) void this.autoheal.rejoin(self.by, formerMembers);
        return;
      }
      for (const r of this.liveness.values()) if (!this.isMember(r.node)) this.liveness.delete(r.node);
      this.peers.setWanted(this.wantedPeers(), this.memberNames());
      this.prober.replan();
    });
  }

  /** Out of its cluster (left, removed): a cluster of one with a new id, data kept. */
  becomeStandalone(why: string): void {
    const { old } = this.replica.becomeStandalone();
    this.partitions.clear();
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

  // ---- what peers ask ------------------------------------------------------------------------

  /** Accepted sockets whose handshake said role 'node' (a member link) or 'join' (a join request). */
  acceptLink(conn: Connection): void {
    const replicantLinks = () => this.peers.linkCount((p) => this.isReplicant(p));
    if (conn.role === 'node' && this.role === 'core' && this.isReplicant(conn.peerName) && !this.peers.link(conn.peerName) && !this.peers.wants(conn.peerName) && replicantLinks() >= this.tuning.roles.maxReplicantLinks) {
      // Its next core takes it (membership/roles.ts): a core's fan-out stays bounded.
      conn.sendReject('full', `${this.name} carries ${replicantLinks()} replicants, its most (tuning.roles.maxReplicantLinks)`);
      conn.close('full');
      return;
    }
    conn.onRequest((op, body, c) => this.handlePeer(op, body, c), this.gossip.seenGossip);
    if (conn.role === 'node') this.peers.offer(conn);
  }

  /** Every kept link; the dialer starts the state sync, the acceptor answers it. */
  onLink(conn: Connection): void {
    conn.onRequest((op, body, c) => this.handlePeer(op, body, c), this.gossip.seenGossip);
    conn.on('rejected', (code: string) => {
      if (code === 'partitioned') this.partitions.keepApart(conn.peerName, conn.peerBoot);
      if (code === 'full') this.passOverCore(conn.peerName, 'it carries as many replicants as it takes', 'full');
    });
    if (conn.dialer === 'local') this.sync.syncLink(conn);
    if (this.isReplicant(conn.peerName)) this.heartbeat.watch();
  }

  /** On a replicant: a core it could not use is passed over for a while, and another is linked. */
  passOverCore(core: string, why: string, kind: 'full' | 'lost' = 'lost'): void {
    if (this.role !== 'replicant' || this.coreTrouble.has(core)) return;
    this.coreTrouble.note(core, kind);
    this.log.info({ peer: core, reason: why }, `passing over core ${core} for now: ${why}`);
    this.queueReconcile();
  }

  private async handlePeer(op: Op, body: unknown, conn: Connection): Promise<unknown> {
    if (this.role === 'core' && this.isReplicant(conn.peerName)) this.heartbeat.heard(conn.peerName);
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
      case 'write':
        return this.data.writeFor(conn.peerName, body as OpBody<'write'>);
      case 'suspect':
        void this.prober.confirm((body as OpBody<'suspect'>).node, conn.peerName);
        return {};
      default:
        throw new PeerError('bad_request', `'${op}' is not a peer operation`);
    }
  }
}
