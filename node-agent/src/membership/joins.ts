import type { ClusterNode } from './cluster';
import type { Status } from './status';
import { formatDuration } from '../config/duration';
import { PeerError } from '../transport/connection';
import { joinReplySchema, type OpBody } from '../transport/messages';
import type { Alive, ClusterState, DataEntry, MemberEntry } from '../domain/state';
import { sleep } from '../runtime/clock';
import { parseReply } from './replies';
import { whyDecline } from './join-offer';
import type { ClusterInfo } from './status';

/**
 * Joining and leaving (EMQX's `cluster join | leave | force-leave`): admitting a joiner on the
 * member it asks, asking to join and taking the cluster's state, a fresh node adopted by the
 * cluster that lists it, leaving, and removing a member (force-leave, autoclean). It works on its
 * node's state through the node (`n`), which hands it the joins its peers ask for.
 */
export class Joins {
  /** While this node moves to another cluster it admits nobody (they would be stranded). */
  private joining = false;
  /** Joins accepted in this turn of the event loop, announced to the members in one message. */
  private announcing?: { cluster_id: string; members: MemberEntry[]; alive: Alive[] };
  private lastAnnouncedAt = -Infinity;
  constructor(private readonly n: ClusterNode) {}

  /** Joins are being made or taken: the node is not to be adopted or moved meanwhile. */
  get busy(): boolean {
    return this.joining;
  }

  /** On the member asked by a joiner: add it (and its data, when it keeps it), tell everyone, hand it the state. */
  async acceptJoin(joiner: string, body: OpBody<'join'>): Promise<ClusterState> {
    if (body.ts) this.n.replica.clock.observe(body.ts);
    const declined = whyDecline(this.n, joiner, body);
    if (declined) throw new PeerError('declined', `${this.n.name} declines the join offered with the probe: ${declined}`);
    if (this.n.role === 'replicant') throw new PeerError('refused', `${this.n.name} is a replicant (node.role = replicant): only core nodes admit members; join one of its cores (${this.n.coreNames().join(', ') || 'none known'})`);
    // While this node is itself moving to another cluster, admitting anyone would strand them.
    if (this.joining) throw new PeerError('busy', `${this.n.name} is joining another cluster right now; try again`);
    const asReplicant = body.role === 'replicant';
    if (body.data?.length && !asReplicant) {
      const changed = this.n.merges.mergeData(body.data);
      if (changed.length) await this.n.gossip.broadcast({ data: changed });
    }
    // The joiner's own record says it runs; a record about anyone else is not its to give.
    const alive = body.alive?.node === joiner ? [body.alive] : [];
    if (body.cluster_id === this.n.replica.clusterId && this.n.isMember(joiner) && this.n.isReplicant(joiner) === asReplicant) {
      await this.n.persist();
      const changed = this.n.merges.applyAlive(alive);
      if (changed.length) this.n.gossip.announce({ alive: changed });
      return this.n.snapshot();
    }
    const entry: MemberEntry = asReplicant ? { key: joiner, state: 'member', ts: this.n.replica.clock.now(), role: 'replicant' } : { key: joiner, state: 'member', ts: this.n.replica.clock.now() };
    this.n.replica.members.merge(entry);
    this.n.stats.event('added', joiner, 'joined through this node');
    this.n.merges.applyAlive(alive);
    // Saved soon, not awaited: the joiner keeps (and saves) the member list it is answered with and
    // syncs it to its neighbours, so the entry outlives this node. Waiting for the disk here put a
    // whole save (several turns of a starved event loop) in front of every join.
    this.n.persistSoon();
    this.n.log.info({ peer: joiner, role: asReplicant ? 'replicant' : 'core' }, `${joiner} joins the cluster through this node${asReplicant ? ' as a replicant' : ''}`);
    // The joiner need not wait for this: it has the state in the answer, and links to its neighbours.
    this.announceJoin(entry, alive);
    this.n.queueReconcile();
    return this.n.snapshot();
  }

  /**
   * Nodes starting together ask to join in bursts: a join alone is announced at once, and the joins
   * accepted within tuning.join.announceSpacingMs after an announcement go to the members together
   * in the next one, not one message per joiner per member.
   */
  announceJoin(entry: MemberEntry, alive: Alive[]): void {
    if (this.announcing) {
      this.announcing.members.push(entry);
      this.announcing.alive.push(...alive);
      return;
    }
    const batch = (this.announcing = { cluster_id: this.n.replica.clusterId, members: [entry], alive: [...alive] });
    const clock = this.n.rt.clock;
    const flush = () => {
      this.announcing = undefined;
      this.lastAnnouncedAt = clock.now();
      // A batch from a cluster this node has left since is not news to the new one.
      if (batch.cluster_id === this.n.replica.clusterId) this.n.gossip.announce({ members: batch.members, alive: batch.alive.length ? batch.alive : undefined });
    };
    const wait = this.lastAnnouncedAt + this.n.tuning.join.announceSpacingMs - clock.now();
    if (wait > 0) clock.setTimeout(flush, wait);
    else clock.setImmediate(flush);
  }

  /**
   * Joins the cluster of `target`. `muster ctl cluster join` drops this node's data and takes the
   * cluster's (as EMQX does); autocluster passes `keepData` so that islands merging lose nothing.
   */
  async join(target: string, opts: { keepData?: boolean; why?: string } = {}): Promise<Status> {
    if (target === this.n.name) throw new PeerError('refused', 'a node cannot join itself');
    if (this.n.isMember(target) && this.n.liveness.isUp(target)) throw new PeerError('already_member', `already in the cluster of ${target}`);
    const why = opts.why ?? 'requested by muster ctl';
    // A replicant brings no data to a cluster and takes the cores' whole: its copy is theirs.
    if (this.n.role === 'replicant') opts = { ...opts, keepData: false };
    this.joining = true;
    let state: ClusterState;
    try {
      state = await this.requestJoin(target, opts.keepData ? [...this.n.replica.data.values()] : undefined);
    } catch (e) {
      this.joining = false;
      this.cannotJoin(target, e as PeerError);
      throw e;
    }
    await this.admitted(target, state, why, !!opts.keepData);
    // For people at a terminal, report the status once the links are up; discovery need not wait.
    if (!opts.keepData && this.n.role === 'core') await this.waitForLinks(this.n.tuning.join.settleMs);
    return this.n.status();
  }

  /**
   * Autocluster's probe of `target` when this node is alone: its join goes with the probe
   * (membership/join-offer.ts), keeping this node's data. Admitted, or the probe's answer to decide
   * on, or the join's failure; a failed dial throws as a probe's does.
   */
  async offerJoin(target: string): Promise<{ admitted: true } | { info: ClusterInfo } | { failed: PeerError }> {
    // Unlike a join asked for, an offer does not make this node busy: most offers are declined (a
    // lone node probing another), and the smallest node, which every other node joins as a cluster
    // forms, answered them all `busy` while it probed. A node that joins this one meanwhile is left
    // alone if the offer is taken, and its own discovery takes it to the same cluster.
    const outcome = await this.n.inquiry.offer(target, { ...this.joinBody([...this.n.replica.data.values()]), if_ranks_before: this.n.coreNames() });
    if (!('state' in outcome)) {
      if ('failed' in outcome) this.cannotJoin(target, outcome.failed);
      return outcome;
    }
    this.joining = true;
    await this.admitted(target, outcome.state, 'autocluster', true);
    return { admitted: true };
  }

  private cannotJoin(target: string, err: PeerError): void {
    this.n.log.warn({ target, reason: err.message, code: err.code }, `cannot join the cluster of ${target}: ${err.message}; nothing changed`);
  }

  /** Admitted by `target`'s cluster: takes its state, then lets discovery and the links know. */
  private async admitted(target: string, state: ClusterState, why: string, keepData: boolean): Promise<void> {
    try {
      await this.adopt(target, state, why, keepData);
    } catch (e) {
      this.n.log.error({ target, err: (e as Error).message }, `admitted by the cluster of ${target}, but taking its state failed: ${(e as Error).message}`);
      throw e;
    } finally {
      this.joining = false;
    }
    this.n.queueReconcile();
    await this.n.events.emit('joined');
  }

  /** Takes the state the cluster handed over; keeps or drops this node's own data. */
  async adopt(target: string, state: ClusterState, why: string, keepData: boolean): Promise<void> {
    this.n.replica.fresh = false;
    this.n.firstSyncDone = true;
    if (state.cluster_id === this.n.replica.clusterId) {
      // Already in that cluster (its link was down): nothing to drop, just merge.
      if (this.n.merges.mergeMembers(state.members).length + this.n.merges.mergeData(state.data).length) this.n.persist();
      this.n.merges.applyAlive(state.alive ?? []);
      this.n.peers.setWanted(this.n.wantedPeers(), this.n.memberNames());
    } else {
      // Our leave entry in the old cluster must be stamped after everything the new cluster knows.
      this.n.merges.observeAll(state.members);
      const previous = this.n.memberNames().filter((n) => n !== this.n.name);
      if (previous.length) await this.leaveCurrent(`joining the cluster of ${target}`);
      this.n.peers.dismissAll('joined another cluster');
      const dropped = keepData ? 0 : this.n.replica.data.values().filter((e) => e.value !== null).length;
      this.n.replica.moveTo(state.cluster_id, keepData);
      this.n.partitions.clear();
      if (!keepData) this.n.tombstones.clear();
      this.n.liveness.reset();
      this.n.merges.mergeMembers(state.members);
      this.n.merges.mergeData(state.data, target);
      this.n.merges.applyAlive(state.alive ?? []);
      // Linking to the neighbours need not wait for the disk; the join answers once it is saved.
      this.n.peers.setWanted(this.n.wantedPeers(), this.n.memberNames());
      await this.n.persist();
      this.n.log.info(
        { target, cluster_id: this.n.replica.clusterId, members: this.n.memberNames(), dropped_keys: dropped },
        `joined the cluster of ${target} (${why}): ${this.n.memberNames().length} member(s); ` +
          (keepData ? `kept this node's data, merged with the cluster's` : `dropped ${dropped} local key(s), took ${Object.keys(this.n.data.list()).length} from the cluster`),
      );
    }
  }

  /** No state of its own and alone: a cluster that lists this node may take it back. */
  adoptable(): boolean {
    return this.n.replica.fresh && this.n.memberNames().length <= 1;
  }

  /**
   * A node with no state of its own (first boot, or its data dir was lost) that a cluster lists as
   * a member is taken back by that cluster: it adopts the cluster's state and syncs.
   */
  adoptIfFresh(state: ClusterState, from: string): void {
    const me = state.members.find((m) => m.key === this.n.name);
    if (!this.adoptable() || me?.state !== 'member') return;
    this.n.replica.moveTo(state.cluster_id, true);
    this.n.merges.mergeMembers(state.members);
    this.n.merges.mergeData(state.data, from);
    this.n.replica.fresh = false;
    this.n.persist();
    this.n.log.warn({ peer: from, cluster_id: this.n.replica.clusterId }, `adopted by the cluster of ${from}: this node had no state (first boot or lost data dir) and the cluster lists it as a member`);
    this.n.queueReconcile();
  }

  /** Asks `target` to admit this node; nothing changes here until it has answered. */
  async requestJoin(target: string, data?: DataEntry[]): Promise<ClusterState> {
    const conn = await this.n.inquiry.link(target);
    try {
      return parseReply(joinReplySchema, await conn.request('join', this.joinBody(data), this.n.tuning.join.requestTimeoutMs), 'join', target);
    } finally {
      conn.close('join done');
    }
  }

  /** What a join asks with: this node's cluster, its data when it keeps it, its clock and liveness, its role. */
  private joinBody(data?: DataEntry[]): OpBody<'join'> {
    const role = this.n.role === 'replicant' ? ('replicant' as const) : undefined;
    return { cluster_id: this.n.replica.clusterId, data, ts: this.n.replica.clock.now(), alive: this.n.liveness.ownRecord, role };
  }

  async waitForLinks(ms: number): Promise<void> {
    const deadline = this.n.rt.clock.now() + ms;
    while (this.n.rt.clock.now() < deadline && this.n.status().stopped_nodes.length) await sleep(this.n.rt.clock, 50);
  }

  /** Tells the current members this node leaves; returns who acknowledged. */
  async leaveCurrent(why: string): Promise<{ acked: string[]; failed: string[] }> {
    const entry: MemberEntry = { key: this.n.name, state: 'removed', ts: this.n.replica.clock.now(), reason: 'leave', by: this.n.name };
    this.n.replica.members.merge(entry);
    await this.n.persist();
    const result = await this.n.gossip.broadcast({ members: [entry] });
    this.n.log.info({ acked: result.acked, reason: why }, `left the cluster (${why}); ${result.acked.length} member(s) acknowledged`);
    return result;
  }

  /** `cluster leave`. */
  async leave(): Promise<{ acked: string[]; failed: string[] }> {
    if (this.n.memberNames().length <= 1) throw new PeerError('not_in_cluster', 'this node is not in a cluster');
    const result = await this.leaveCurrent('cluster leave');
    this.n.becomeStandalone('this node left');
    await this.n.events.emit('left');
    return result;
  }

  /** `cluster force-leave <node>`: removes it everywhere; if it is alive it is told and goes standalone. */
  async forceLeave(node: string): Promise<{ acked: string[]; failed: string[] }> {
    if (this.n.role === 'replicant') throw new PeerError('refused', `${this.n.name} is a replicant: removing a member is decided by core nodes; run cluster force-leave on one of them (${this.n.coreNames().join(', ') || 'none known'})`);
    if (node === this.n.name) throw new PeerError('refused', 'use "cluster leave" to take this node out');
    if (!this.n.isMember(node)) throw new PeerError('unknown_node', `${node} is not a member of this cluster (members: ${this.n.memberNames().join(', ')})`);
    return this.removeMember(node, 'force-leave');
  }

  /** Removes a member everywhere (force-leave, autoclean); if it is alive it learns and goes standalone. */
  async removeMember(node: string, reason: 'force-leave' | 'autoclean'): Promise<{ acked: string[]; failed: string[] }> {
    const entry: MemberEntry = { key: node, state: 'removed', ts: this.n.replica.clock.now(), reason, by: this.n.name };
    this.n.replica.members.merge(entry);
    this.n.stats.event('removed', node, `${reason} by this node`);
    this.n.partitions.removed(node);
    await this.n.persist();
    const why = reason === 'autoclean' ? `stopped for longer than cluster.autoclean = ${formatDuration(this.n.cfg.cluster.autoclean)}` : 'force-leave';
    this.n.log.info({ peer: node, reason }, `removing ${node} from the cluster (${why})`);
    // The removed node is among the recipients when it is alive, so it learns and goes standalone.
    const result = await this.n.gossip.broadcast({ members: [entry] });
    this.n.queueReconcile();
    return result;
  }
}
