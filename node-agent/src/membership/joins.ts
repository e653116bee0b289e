import type { ClusterNode, ClusterInfo, Status } from './cluster';
import { parseNodeName } from '../config/node-name';
import { formatDuration } from '../config/duration';
import { Connection, PeerError } from '../transport/connection';
import { infoReplySchema, joinReplySchema, type OpBody } from '../transport/messages';
import type { Alive, ClusterState, DataEntry, MemberEntry } from '../domain/state';
import { ProbeLinks } from '../discovery/probe-links';
import type { Timer } from '../runtime';
import { sleep } from '../runtime/clock';
import { parseReply } from './replies';

/**
 * Joining and leaving (EMQX's `cluster join | leave | force-leave`): admitting a joiner on the
 * member it asks, asking to join and taking the cluster's state, leaving, removing a member
 * (force-leave, autoclean) and, with autoheal, going back after an autoclean; the discovery probe
 * ("which cluster are you in?") whose link the join that follows reuses. It works on its node's
 * state through the node (`n`), which hands it the joins its peers ask for.
 */
export class Joins {
  /** While this node moves to another cluster it admits nobody (they would be stranded). */
  private joining = false;
  /** Joins accepted in this turn of the event loop, announced to the members in one message. */
  private announcing?: { cluster_id: string; members: MemberEntry[]; alive: Alive[] };
  /** Set by stop(): the autoheal rejoin loop ends. */
  private stopping = false;
  private rejoinWait?: Timer;
  /** Probe links kept for a moment: the join or the next look that usually follows reuses them. */
  private readonly probeLinks: ProbeLinks;

  constructor(private readonly n: ClusterNode) {
    this.probeLinks = new ProbeLinks(n.tuning.join.probeLinkKeepMs, n.rt.clock);
  }

  /** Joins are being made or taken: the node is not to be adopted or moved meanwhile. */
  get busy(): boolean {
    return this.joining;
  }

  stop(): void {
    this.stopping = true;
    this.n.rt.clock.clearTimeout(this.rejoinWait);
    this.probeLinks.closeAll('node is stopping');
  }

  /** With autoheal, a node autocleaned while cut off asks its former cluster to take it back. */
  async rejoinAfterAutoclean(by: string | undefined, formerMembers: string[]): Promise<void> {
    const targets = [...new Set([by, ...formerMembers].filter((n): n is string => !!n && n !== this.n.name))];
    const { rejoinAttempts, rejoinBackoffMinMs, rejoinBackoffMaxMs } = this.n.tuning.autoheal;
    for (let attempt = 0; attempt < rejoinAttempts && !this.stopping; attempt++) {
      for (const t of targets) {
        if (this.stopping) return;
        try {
          await this.join(t, { keepData: true, why: 'autoheal: autoclean removed this node while it was cut off' });
          return;
        } catch (e) {
          // join() logged why; the next target, then a longer wait.
          this.n.log.debug({ target: t, attempt, err: (e as Error).message }, `autoheal: rejoining through ${t} failed`);
        }
      }
      await new Promise<void>((r) => {
        this.rejoinWait = this.n.rt.clock.setTimeout(r, Math.min(rejoinBackoffMaxMs, rejoinBackoffMinMs * 2 ** attempt));
      });
      this.rejoinWait = undefined;
      if (this.n.memberNames().length > 1) return;
    }
    if (this.stopping) return;
    this.n.log.warn({ targets }, 'autoheal: could not rejoin the former cluster; run cluster join to bring this node back');
  }

  /** On the member asked by a joiner: add it (and its data, when it keeps it), tell everyone, hand it the state. */
  async acceptJoin(joiner: string, body: OpBody<'join'>): Promise<ClusterState> {
    if (body.ts) this.n.replica.clock.observe(body.ts);
    // While this node is itself moving to another cluster, admitting anyone would strand them.
    if (this.joining) throw new PeerError('busy', `${this.n.name} is joining another cluster right now; try again`);
    if (body.data?.length) {
      const changed = this.n.mergeData(body.data);
      if (changed.length) await this.n.gossip.broadcast({ data: changed });
    }
    // The joiner's own record says it runs; a record about anyone else is not its to give.
    const alive = body.alive?.node === joiner ? [body.alive] : [];
    if (body.cluster_id === this.n.replica.clusterId && this.n.isMember(joiner)) {
      await this.n.persist();
      const changed = this.n.applyAlive(alive);
      if (changed.length) this.n.gossip.announce({ alive: changed });
      return this.n.snapshot();
    }
    const entry: MemberEntry = { key: joiner, state: 'member', ts: this.n.replica.clock.now() };
    this.n.replica.members.merge(entry);
    this.n.applyAlive(alive);
    // Saved soon, not awaited: the joiner keeps (and saves) the member list it is answered with and
    // syncs it to its neighbours, so the entry outlives this node. Waiting for the disk here put a
    // whole save (several turns of a starved event loop) in front of every join.
    this.n.persistSoon();
    this.n.log.info({ peer: joiner }, `${joiner} joins the cluster through this node`);
    // The joiner need not wait for this: it has the state in the answer, and links to its neighbours.
    this.announceJoin(entry, alive);
    this.n.queueReconcile();
    return this.n.snapshot();
  }

  /**
   * Nodes starting together ask to join in bursts: the joins accepted in one turn of the event loop
   * go to the members as one message, not one message per joiner per member.
   */
  announceJoin(entry: MemberEntry, alive: Alive[]): void {
    if (this.announcing) {
      this.announcing.members.push(entry);
      this.announcing.alive.push(...alive);
      return;
    }
    const batch = (this.announcing = { cluster_id: this.n.replica.clusterId, members: [entry], alive: [...alive] });
    this.n.rt.clock.setImmediate(() => {
      this.announcing = undefined;
      // A batch from a cluster this node has left since is not news to the new one.
      if (batch.cluster_id === this.n.replica.clusterId) this.n.gossip.announce({ members: batch.members, alive: batch.alive.length ? batch.alive : undefined });
    });
  }

  /**
   * Joins the cluster of `target`. `muster ctl cluster join` drops this node's data and takes the
   * cluster's (as EMQX does); autocluster passes `keepData` so that islands merging lose nothing.
   */
  async join(target: string, opts: { keepData?: boolean; why?: string } = {}): Promise<Status> {
    if (target === this.n.name) throw new PeerError('refused', 'a node cannot join itself');
    if (this.n.isMember(target) && this.n.liveness.isUp(target)) throw new PeerError('already_member', `already in the cluster of ${target}`);
    const why = opts.why ?? 'requested by muster ctl';
    this.joining = true;
    let state: ClusterState;
    try {
      state = await this.requestJoin(target, opts.keepData ? [...this.n.replica.data.values()] : undefined);
    } catch (e) {
      this.joining = false;
      const err = e as PeerError;
      this.n.log.warn({ target, reason: err.message, code: err.code }, `cannot join the cluster of ${target}: ${err.message}; nothing changed`);
      throw e;
    }
    try {
      await this.adopt(target, state, why, !!opts.keepData);
    } catch (e) {
      this.n.log.error({ target, err: (e as Error).message }, `admitted by the cluster of ${target}, but taking its state failed: ${(e as Error).message}`);
      throw e;
    } finally {
      this.joining = false;
    }
    this.n.queueReconcile();
    this.n.hooks.onJoined?.();
    // For people at a terminal, report the status once the links are up; discovery need not wait.
    if (!opts.keepData) await this.waitForLinks(this.n.tuning.join.settleMs);
    return this.n.status();
  }

  /** Takes the state the cluster handed over; keeps or drops this node's own data. */
  async adopt(target: string, state: ClusterState, why: string, keepData: boolean): Promise<void> {
    this.n.replica.fresh = false;
    this.n.firstSyncDone = true;
    if (state.cluster_id === this.n.replica.clusterId) {
      // Already in that cluster (its link was down): nothing to drop, just merge.
      if (this.n.mergeMembers(state.members).length + this.n.mergeData(state.data).length) this.n.persist();
      this.n.applyAlive(state.alive ?? []);
      this.n.peers.setWanted(this.n.wantedPeers(), this.n.memberNames());
    } else {
      // Our leave entry in the old cluster must be stamped after everything the new cluster knows.
      this.n.observeAll(state.members);
      const previous = this.n.memberNames().filter((n) => n !== this.n.name);
      if (previous.length) await this.leaveCurrent(`joining the cluster of ${target}`);
      this.n.peers.dismissAll('joined another cluster');
      const dropped = keepData ? 0 : this.n.replica.data.values().filter((e) => e.value !== null).length;
      this.n.replica.moveTo(state.cluster_id, keepData);
      this.n.forgetPeerHistory();
      if (!keepData) this.n.tombstones.clear();
      this.n.liveness.reset();
      this.n.mergeMembers(state.members);
      this.n.mergeData(state.data, target);
      this.n.applyAlive(state.alive ?? []);
      // Linking to the neighbours need not wait for the disk; the join answers once it is saved.
      this.n.peers.setWanted(this.n.wantedPeers(), this.n.memberNames());
      await this.n.persist();
      this.n.log.info(
        { target, cluster_id: this.n.replica.clusterId, members: this.n.memberNames(), dropped_keys: dropped },
        `joined the cluster of ${target} (${why}): ${this.n.memberNames().length} member(s); ` +
          (keepData ? `kept this node's data, merged with the cluster's` : `dropped ${dropped} local key(s), took ${Object.keys(this.n.list()).length} from the cluster`),
      );
    }
  }

  /** A one-off authenticated connection for a join or a discovery probe. */
  async dialJoinRole(target: string): Promise<Connection> {
    const address = await this.n.resolver.resolve(parseNodeName(target).host);
    return Connection.dial({
      host: address,
      port: this.n.peers.ports.get(target) ?? this.n.cfg.cluster.port,
      role: 'join',
      clusterName: this.n.cfg.cluster.name,
      expectedPeer: target,
      localAddress: this.n.localAddress,
      tls: this.n.tls,
      localName: this.n.name,
      cookie: this.n.cfg.node.cookie,
      boot: this.n.boot,
      log: this.n.log,
      clock: this.n.rt.clock,
      net: this.n.rt.net,
    });
  }

  /** Asks `target` to admit this node; nothing changes here until it has answered. */
  async requestJoin(target: string, data?: DataEntry[]): Promise<ClusterState> {
    const conn = this.probeLinks.take(target) ?? (await this.dialJoinRole(target));
    try {
      return parseReply(joinReplySchema, await conn.request('join', { cluster_id: this.n.replica.clusterId, data, ts: this.n.replica.clock.now(), alive: this.n.liveness.ownRecord }, this.n.tuning.join.requestTimeoutMs), 'join', target);
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
      const reply = !kept && conn.infoInWelcome !== undefined ? conn.infoInWelcome : await conn.request('info', {}, this.n.tuning.join.infoTimeoutMs);
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
    this.n.hooks.onProbed?.(peer);
    return this.n.info();
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
    await this.n.hooks.onLeft?.();
    return result;
  }

  /** `cluster force-leave <node>`: removes it everywhere; if it is alive it is told and goes standalone. */
  async forceLeave(node: string): Promise<{ acked: string[]; failed: string[] }> {
    if (node === this.n.name) throw new PeerError('refused', 'use "cluster leave" to take this node out');
    if (!this.n.isMember(node)) throw new PeerError('unknown_node', `${node} is not a member of this cluster (members: ${this.n.memberNames().join(', ')})`);
    return this.removeMember(node, 'force-leave');
  }

  /** Removes a member everywhere (force-leave, autoclean); if it is alive it learns and goes standalone. */
  async removeMember(node: string, reason: 'force-leave' | 'autoclean'): Promise<{ acked: string[]; failed: string[] }> {
    const entry: MemberEntry = { key: node, state: 'removed', ts: this.n.replica.clock.now(), reason, by: this.n.name };
    this.n.replica.members.merge(entry);
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
