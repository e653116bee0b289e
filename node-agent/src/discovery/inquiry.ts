import { parseNodeName } from '../config/node-name';
import { Connection } from '../transport/connection';
import { infoReplySchema } from '../transport/messages';
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
    const conn = kept ?? (await this.dial(target));
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

  /** The answer to a probe from `peer` (a `join` link's welcome); autocluster hears of it. */
  answer(peer: string): ClusterInfo {
    this.n.events.emit('probed', peer).catch((e: Error) => this.n.log.error({ err: e.message }, `a listener of 'probed' failed: ${e.message}`));
    return infoOf(this.n);
  }

  /** The probe link kept to `target`, or a new authenticated `join` link to it. */
  async link(target: string): Promise<Connection> {
    return this.probeLinks.take(target) ?? (await this.dial(target));
  }

  private async dial(target: string): Promise<Connection> {
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
    });
  }
}
