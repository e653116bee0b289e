import { parseNodeName } from '../config/node-name';
import { Connection, PeerError } from '../transport/connection';
import { encodeFrame, HANDSHAKE_FRAME_LIMIT } from '../transport/frame';
import { infoReplySchema, joinReplySchema, type OpBody } from '../transport/messages';
import type { ClusterState } from '../domain/state';
import type { ClusterNode } from '../membership/cluster';
import { parseReply } from '../membership/replies';
import { infoOf, type ClusterInfo } from '../membership/status';
import { ProbeLinks } from './probe-links';

/**
 * Discovery's question to a found node, "which cluster are you in?", asked and answered: the
 * connection (a `join` link) is kept for a moment, since a join through the same node usually
 * follows and then needs no new handshake.
 */
export class Inquiry {
  private readonly probeLinks: ProbeLinks;

  constructor(private readonly n: ClusterNode) {
    this.probeLinks = new ProbeLinks(n.tuning.join.probeLinkKeepMs, n.rt.clock);
  }

  stop(): void {
    this.probeLinks.closeAll('node is stopping');
  }

  /** Asks `target` which cluster it is in; the link is kept for the join that may follow. */
  async probe(target: string): Promise<ClusterInfo> {
    const kept = this.probeLinks.take(target);
    return this.infoOn(kept ?? (await this.dial(target)), !kept, target);
  }

  /**
   * A probe that carries a join (`join` with `if_ranks_before`), sent with the handshake's auth:
   * `target` admits this node at once if its cluster ranks first, which saves the round trip of
   * a join asked after the answer; otherwise it declines and the probe's answer is the welcome's.
   * A join it failed to answer is `failed` (this node may have been admitted: as with any join).
   * With a kept link, or a join too large for the handshake's frame limit, it is a plain probe.
   */
  async offer(target: string, join: OpBody<'join'>): Promise<{ state: ClusterState } | { info: ClusterInfo } | { failed: PeerError }> {
    const kept = this.probeLinks.take(target);
    if (kept) return { info: await this.infoOn(kept, false, target) };
    // The frame is encoded once more by `request`: a fresh joiner's join is a few hundred bytes.
    if (encodeFrame({ t: 'req', id: 1, op: 'join', body: join }).length - 4 > HANDSHAKE_FRAME_LIMIT) return { info: await this.probe(target) };
    let answer!: Promise<unknown>;
    const conn = await this.dial(target, (c) => {
      c.readLargeFrames();
      answer = c.request('join', join, this.n.tuning.join.requestTimeoutMs);
      // Awaited below once the handshake is done; a failed handshake rejects it unheard.
      answer.catch(() => undefined);
    });
    try {
      const state = parseReply(joinReplySchema, await answer, 'join', target);
      conn.close('join done');
      return { state };
    } catch (e) {
      if (!(e instanceof PeerError) || e.code !== 'declined') {
        conn.close('join failed');
        return { failed: e instanceof PeerError ? e : new PeerError('failed', (e as Error).message) };
      }
    }
    return { info: await this.infoOn(conn, true, target) };
  }

  /** The cluster info `conn`'s welcome carried (a new link) or asked for (a kept one); the link is kept. */
  private async infoOn(conn: Connection, fresh: boolean, target: string): Promise<ClusterInfo> {
    let info: ClusterInfo;
    try {
      const reply = fresh && conn.infoInWelcome !== undefined ? conn.infoInWelcome : await conn.request('info', {}, this.n.tuning.join.infoTimeoutMs);
      info = parseReply(infoReplySchema, reply, 'info', target);
    } catch (e) {
      conn.close('probe failed');
      throw e;
    }
    this.probeLinks.keep(target, conn);
    return info;
  }

  /** The answer to a probe from `peer` (a `join` link's welcome); autocluster hears of it. */
  answer(peer: string): ClusterInfo {
    this.n.events.emit('probed', peer).catch((e: Error) => this.n.log.error({ err: e.message }, `a listener of 'probed' failed: ${e.message}`));
    return infoOf(this.n);
  }

  /** The probe link kept to `target`, or a new authenticated `join` link to it. */
  async link(target: string): Promise<Connection> {
    return this.probeLinks.take(target) ?? (await this.dial(target));
  }

  private async dial(target: string, afterAuth?: (c: Connection) => void): Promise<Connection> {
    const n = this.n;
    const address = await n.resolver.resolve(parseNodeName(target).host);
    return Connection.dial({
      host: address,
      port: n.peers.portOf(target),
      role: 'join',
      clusterName: n.cfg.cluster.name,
      expectedPeer: target,
      localAddress: n.localAddress,
      tls: n.tls,
      localName: n.name,
      cookie: n.cfg.node.cookie,
      boot: n.boot,
      log: n.log,
      clock: n.rt.clock,
      net: n.rt.net,
      stats: n.stats,
      afterAuth,
    });
  }
}
