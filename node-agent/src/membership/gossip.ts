import type { ClusterNode } from './cluster';
import type { Connection } from '../transport/connection';
import { PeerError } from '../errors';
import { gossipChangeSchema, type GossipBody, type Op, type OpBody } from '../transport/messages';
import { Flood } from './flood';

const sorted = (xs: Iterable<string>) => [...xs].sort();

/**
 * Spreading changes to every member over the links (membership/flood.ts does the flooding): a
 * change someone waits for (a write, a leave, a removal) with its acknowledgements, news nobody
 * waits for one way, and the relay of what other members spread. It works on its node's state
 * through the node (`n`).
 */
export class Gossip {
  readonly flood: Flood;

  constructor(private readonly n: ClusterNode) {
    this.flood = new Flood(n.tuning.gossip, n.rt);
  }

  /** A new change of this node's, to spread over its links except `exclude` (the one it came from). */
  private outgoing(change: Pick<GossipBody, 'members' | 'data' | 'alive'>, exclude: Connection | undefined, oneway?: true): { body: GossipBody; links: Connection[] } {
    const body: GossipBody = { cluster_id: this.n.replica.clusterId, id: this.flood.newId(), budget_ms: this.n.tuning.gossip.ackTimeoutMs, oneway, ...change };
    return { body, links: this.n.peers.upLinks().filter((c) => c !== exclude) };
  }

  /**
   * Of `links`, those whose acknowledgement counts (cores: a replicant's copy follows the cores',
   * so no change waits for a replicant) and the replicants', which are only told.
   */
  private split(links: Connection[]): { ask: Connection[]; tell: Connection[] } {
    if (this.n.role === 'replicant') return { ask: links, tell: [] };
    const ask: Connection[] = [];
    const tell: Connection[] = [];
    for (const c of links) (this.n.isReplicant(c.peerName) ? tell : ask).push(c);
    return { ask, tell };
  }

  /** Sends a change someone waits for: asked of the cores, told one way to the replicants. */
  private spread(links: Connection[], body: GossipBody): Promise<{ reached: Set<string> }> {
    const { ask, tell } = this.split(links);
    this.flood.cast(tell, { ...body, oneway: true });
    return this.flood.spread(ask, body);
  }

  /**
   * Spreads a change to every member over the links (membership/flood.ts) and waits until it is
   * acknowledged: writes, leaves, removals. `failed` names the running members it did not reach in
   * time. `exclude`: a link the change came from.
   */
  async broadcast(change: Pick<GossipBody, 'members' | 'data' | 'alive'>, exclude?: Connection): Promise<{ acked: string[]; failed: string[] }> {
    const { body, links } = this.outgoing(change, exclude);
    const { reached } = await this.spread(links, body);
    reached.delete(this.n.name);
    const acked = sorted(reached);
    const failed = this.n.runningCores().filter((m) => m !== this.n.name && !reached.has(m) && m !== exclude?.peerName);
    const what = change.data ? 'write' : 'membership change';
    if (failed.length) this.n.log.warn({ failed }, `${what} not acknowledged by ${failed.join(', ')}; they catch up when their links sync again`);
    return { acked, failed };
  }

  /**
   * Spreads news nobody waits for, one way (membership/flood.ts): who is up or down, joins, what a
   * link's sync brought. A member that misses it learns it at its next sync.
   */
  announce(change: Pick<GossipBody, 'members' | 'data' | 'alive'>, exclude?: Connection): void {
    const { body, links } = this.outgoing(change, exclude, true);
    this.flood.cast(links, body);
  }

  /**
   * A change this node has seen gets the answer relay gives it, without its schema checked first:
   * news comes to a member over most of its links (about 8 of every 9 copies are repeats), and at
   * N = 100 the checks were a large part of an agent's CPU.
   */
  readonly seenGossip = (op: Op, raw: unknown): { acked: string[] } | undefined => {
    if (op !== 'gossip' || typeof raw !== 'object' || raw === null) return undefined;
    const id = (raw as { id?: unknown }).id;
    return typeof id === 'string' && this.flood.seenBefore(id) ? { acked: [] } : undefined;
  };

  /** A change spread by another member: apply it once, pass it on, answer with who was reached. */
  async relay(h: OpBody<'gossip'>, conn: Connection): Promise<{ acked: string[] }> {
    this.n.checkCluster(h.cluster_id, conn.peerName);
    if (this.flood.seenBefore(h.id)) return { acked: [] };
    const change = gossipChangeSchema.safeParse(h);
    if (!change.success) throw new PeerError('bad_request', `malformed change in 'gossip' from ${conn.peerName}`);
    this.flood.markSeen(h.id);
    const b: GossipBody = { cluster_id: h.cluster_id, id: h.id, budget_ms: h.budget_ms, oneway: h.oneway, ...change.data };
    const members = b.members ? this.n.merges.mergeMembers(b.members) : [];
    // A core takes no data from a replicant: its copy follows the cores', and its writes come as `write`.
    const data = b.data && !(this.n.role === 'core' && this.n.isReplicant(conn.peerName)) ? this.n.merges.mergeData(b.data, conn.peerName) : [];
    // Nor a replicant's word that another node is down (see sync.ts).
    const fromReplicant = this.n.role === 'core' && this.n.isReplicant(conn.peerName);
    const aliveIn = b.alive && fromReplicant ? b.alive.filter((r) => r.up || !r.by || !this.n.isReplicant(r.by)) : b.alive;
    const alive = aliveIn ? this.n.merges.applyAlive(aliveIn) : [];
    // A replicant passes nothing on: every core has it from the other cores, and tells its own replicants.
    const links = this.n.role === 'replicant' ? [] : this.n.peers.upLinks().filter((c) => c !== conn);
    if (b.oneway) {
      // News this node already had goes no further: every neighbour of a crashed member claims it
      // at once, and each claim would otherwise cross every link of the cluster. Whoever learned
      // it first (by gossip, a sync or a join) spread it, so the members beyond have it.
      if (members.length || data.length || alive.length) {
        if (members.length || data.length) this.n.persistSoon();
        this.flood.cast(links, b);
        this.n.queueReconcile();
      }
      return { acked: [this.n.name] };
    }
    // Stored before it is acknowledged, while it goes on to the next members.
    const saved = members.length || data.length ? this.n.persist() : undefined;
    const [{ reached }] = await Promise.all([this.spread(links, b), saved]);
    // The members reached through this node hold the tombstones it passed on.
    for (const e of b.data ?? []) if (e.value === null) for (const m of reached) this.n.tombstones.heldBy(e.key, m);
    this.n.queueReconcile();
    return { acked: [this.n.name, ...reached] };
  }

}
