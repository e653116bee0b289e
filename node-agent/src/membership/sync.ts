import type { ClusterNode } from './cluster';
import { Connection, PeerError } from '../transport/connection';
import { checkSyncEntries, sameAlive, sameMemberEntry, syncSchema, type KnownEntries, type SyncBody, type SyncWire } from '../transport/messages';
import { parseReply } from './replies';
import { BUCKETS, bucketOf } from '../store/lww-map';

/**
 * The state sync on a link: the dialer of a new link runs it, so does the side that saw a peer come
 * back on a kept link, and anti-entropy every 17 s on one link in turn. Digests first; entries only
 * where the states differ; what a sync brings is merged and passed on. It works on its node's state
 * through the node (`n`), which hands it the syncs its peers ask for.
 */
export class StateSync {
  constructor(private readonly n: ClusterNode) {}

  /**
   * Syncs the states on a link: the dialer of a new link does, and the side that saw a peer come
   * back on a kept link (it may have missed writes meanwhile). A partition kept apart ends it.
   */
  syncLink(conn: Connection, digestFirst = false): void {
    if (this.n.partitions.refuses(conn.peerName, conn.peerBoot)) {
      conn.sendReject('partitioned', `${this.n.name} keeps ${conn.peerName} apart after a partition (autoheal = false)`);
      conn.close('kept apart after a partition (autoheal = false)');
      return;
    }
    this.exchange(conn, digestFirst).catch((e: Error) => {
      if (!(e instanceof PeerError)) {
        // Not the peer's doing (a failed disk write while merging, a bug): say so, then drop the link.
        this.n.log.error({ peer: conn.peerName, err: e.message }, `sync with ${conn.peerName} failed here: ${e.message}`);
        return conn.dismiss(`sync failed: ${e.message}`);
      }
      // A member in another cluster moved away while we could not hear it leave; discovery (or an
      // operator's force-leave) settles it. Removing it here on a possibly stale view could undo a join.
      if (e.code === 'other_cluster') this.n.log.info({ peer: conn.peerName, reason: e.message }, `not linking to ${conn.peerName}: ${e.message}`);
      if (e.code === 'partitioned') this.n.partitions.keepApart(conn.peerName, conn.peerBoot);
      // An anti-entropy offer on a link that is up and unanswered in time: a slow peer, which the
      // prober judges; dropping the link would claim it down on this node's word alone.
      if (digestFirst && (e.code === 'timeout' || e.code === 'closed')) {
        this.n.log.debug({ peer: conn.peerName, reason: e.message }, `anti-entropy with ${conn.peerName} did not finish: ${e.message}`);
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
  async exchange(conn: Connection, digestFirst: boolean): Promise<void> {
    const first = await this.requestSync(conn, !digestFirst && this.n.rt.clock.now() - this.n.changedAt < this.n.tuning.sync.freshStateMs);
    // A node with no state of its own, in a cluster of its own, wants ours to see whether our
    // cluster lists it (an answer in its state, not an error): it gets our entries next.
    const wantsState = first.cluster_id !== this.n.replica.clusterId && first.want === true && first.members === undefined;
    if (first.cluster_id !== this.n.replica.clusterId && !wantsState) return conn.dismiss('peer changed cluster');
    if (!wantsState) this.applySync(first, conn);
    // No `want`: the peer had this node's entries (sent with the request) or the same digest; with
    // `want`, once it has answered the second request. Then it holds every tombstone held here.
    if (!first.want) return this.n.tombstones.allHeldBy(conn.peerName);
    const second = await this.requestSync(conn, true, first.buckets, true);
    if (second.cluster_id !== this.n.replica.clusterId) return conn.dismiss('peer changed cluster');
    this.applySync(second, conn);
    this.n.tombstones.allHeldBy(conn.peerName);
  }

  /**
   * `answered`: the second request of an exchange, to a peer that asked for our entries (`want`);
   * a replicant that sent no buckets (a fresh one) gets all the data then.
   */
  async requestSync(conn: Connection, withEntries: boolean, theirBuckets?: string[], answered = false): Promise<SyncBody> {
    const toReplicant = this.between(conn) === 'core-to-replicant' && (theirBuckets !== undefined || answered);
    const body: SyncBody = !withEntries
      ? { cluster_id: this.n.replica.clusterId, digest: this.n.digest() }
      : this.between(conn) === 'none'
        ? { ...this.n.snapshot(), digest: this.n.digest() }
        : { ...this.membership(), digest: this.n.digest(), ...(toReplicant ? this.dataFor(theirBuckets) : {}) };
    if (this.between(conn) === 'replicant-to-core') body.buckets = this.n.replica.data.bucketDigests();
    const reply = await conn.request('sync', body, this.n.tuning.sync.requestTimeoutMs);
    return this.checkSync(parseReply(syncSchema, reply, 'sync', conn.peerName), () => new PeerError('protocol', `malformed 'sync' answer from ${conn.peerName}`));
  }

  /**
   * Entries of this node's own cluster equal to ones it holds (about other members) are left out of
   * a sync unchecked (`checkSyncEntries`). A sync from another cluster is checked whole: a fresh
   * node may adopt it, and would then need all of it.
   */
  private readonly knownEntries: KnownEntries = {
    member: (e) => {
      const held = e.key !== this.n.name ? this.n.replica.members.get(e.key as string) : undefined;
      return held !== undefined && sameMemberEntry(held, e);
    },
    alive: (r) => {
      const held = r.node !== this.n.name ? this.n.liveness.get(r.node as string) : undefined;
      return held !== undefined && sameAlive(held, r);
    },
  };

  checkSync(wire: SyncWire, malformed: () => PeerError): SyncBody {
    const b = checkSyncEntries(wire, wire.cluster_id === this.n.replica.clusterId ? this.knownEntries : undefined);
    if (!b) throw malformed();
    return b;
  }

  /** The other side's half: merge what came, answer with a digest, or entries where they differ. */
  answerSync(b: SyncBody, conn: Connection): SyncBody {
    if (b.cluster_id !== this.n.replica.clusterId) {
      // No state of its own yet: ask for the peer's entries, in its own cluster's name (exchange() sends them).
      if (!b.members && this.n.joins.adoptable()) return { cluster_id: this.n.replica.clusterId, digest: this.n.digest(), want: true };
      if (b.members) this.n.joins.adoptIfFresh({ cluster_id: b.cluster_id, members: b.members, data: b.data ?? [] }, conn.peerName);
    }
    this.n.checkCluster(b.cluster_id, conn.peerName);
    if (this.n.isMember(conn.peerName) && this.n.partitions.refuses(conn.peerName, conn.peerBoot)) {
      throw new PeerError('partitioned', `${this.n.name} keeps ${conn.peerName} apart after a partition (autoheal = false)`);
    }
    this.applySync(b, conn);
    const digest = this.n.digest();
    if (digest === b.digest) {
      // The same state on both sides: the peer holds every tombstone held here.
      this.n.tombstones.allHeldBy(conn.peerName);
      return { cluster_id: this.n.replica.clusterId, digest };
    }
    const link = this.between(conn);
    // A replicant wants a core's data (it sends none); the core sends the buckets that differ.
    if (link === 'replicant-to-core') return { ...this.membership(), digest, buckets: this.n.replica.data.bucketDigests(), want: true };
    if (link === 'core-to-replicant') return { ...this.membership(), digest, ...this.dataFor(b.buckets), want: b.members === undefined || undefined };
    // They lack entries of ours; if they sent only their digest, we may lack theirs too.
    return { ...this.n.snapshot(), digest, want: b.members === undefined || undefined };
  }

  /**
   * What a link is for data: between a core and a replicant the data flows one way (a replicant's
   * copy follows the cores'), by bucket: a replicant back after a gap gets the buckets that changed,
   * not a full copy, and an exchange cut short leaves the buckets it brought in place (the next
   * sync sends what still differs).
   */
  private between(conn: Connection): 'none' | 'replicant-to-core' | 'core-to-replicant' {
    if (this.n.role === 'replicant') return 'replicant-to-core';
    return this.n.isReplicant(conn.peerName) ? 'core-to-replicant' : 'none';
  }

  private membership(): Omit<SyncBody, 'digest'> {
    return { cluster_id: this.n.replica.clusterId, members: [...this.n.replica.members.values()], alive: this.n.liveness.values() };
  }

  /** The data a replicant lacks: the buckets whose digests differ from `theirs`, or everything when they are not known. */
  private dataFor(theirs: string[] | undefined): Pick<SyncBody, 'data' | 'partial'> {
    const data = this.n.replica.data.values();
    if (!theirs || theirs.length !== BUCKETS) return { data: [...data] };
    const mine = this.n.replica.data.bucketDigests();
    const partial = mine.flatMap((d, i) => (d !== theirs[i] ? [i] : []));
    const wanted = new Set(partial);
    return { data: data.filter((e) => wanted.has(bucketOf(e.key))), partial };
  }

  private applySync(state: Pick<SyncBody, 'members' | 'data' | 'alive' | 'partial'>, conn: Connection): void {
    const peer = conn.peerName;
    // Up first, so that what is spread below reaches the peer too.
    if (this.n.isMember(peer)) this.n.peers.markUp(conn);
    const members = state.members ? this.n.merges.mergeMembers(state.members) : [];
    if (this.n.role === 'replicant' && !this.n.isReplicant(peer)) this.n.liveness.dropClaimsBy(this.n.name);
    const aliveIn = state.alive && this.n.role === 'core' && this.n.isReplicant(peer) ? state.alive.filter((r) => r.up || !r.by || !this.n.isReplicant(r.by)) : state.alive;
    // Data flows from cores to replicants only: a core takes none from a replicant (its copy follows
    // the cores', its writes come as `write`), nor a replicant's word that another node is down (a
    // replicant cut off from every core claims them down in its own view only).
    const fromReplicant = this.n.role === 'core' && this.n.isReplicant(peer);
    if (this.n.role === 'replicant' && state.data) {
      if (this.n.merges.takeData(state.data, peer, state.partial)) this.n.persistSoon();
    }
    const data = !state.data || fromReplicant || this.n.role === 'replicant' ? [] : this.n.merges.mergeData(state.data, peer);
    const alive = aliveIn ? this.n.merges.applyAlive(aliveIn) : [];
    if (members.length || data.length) this.n.persistSoon();
    this.n.firstSyncDone = true;
    if (this.n.isMember(peer)) this.n.peers.markUp(conn);
    // What the link brought is news here, so likely to this node's side of the cluster too (two
    // sides of a partition meet on a few links): pass it on. A peer that had not heard that this
    // node runs (it restarted, or was taken for down) is told, and so is everyone through it.
    const stale = state.alive && this.n.liveness.staleAboutSelf(state.alive.find((r) => r.node === this.n.name));
    if (stale) alive.push(this.n.liveness.ownRecord);
    // A replicant passes on nothing but its own word: its cores have the rest from each other.
    if (this.n.role === 'replicant') {
      if (stale) this.n.gossip.announce({ alive: [this.n.liveness.ownRecord] });
    } else if (members.length || data.length || alive.length) {
      this.n.gossip.announce({ members: members.length ? members : undefined, data: data.length ? data : undefined, alive: alive.length ? alive : undefined }, stale ? undefined : conn);
    }
    this.n.queueReconcile();
  }

}
