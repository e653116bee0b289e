import type { Logger } from 'pino';
import type { Config } from './config/schema';
import { handleCtl } from './ctl/handler';
import type { ClusterNode } from './membership/cluster';
import type { Clock, StreamSocket } from './runtime';
import { Connection } from './transport/connection';
import type { HandshakeGuard } from './transport/handshake-guard';

/**
 * An accepted socket: the cookie handshake, then a member link, a join or discovery probe, or a
 * `muster ctl` session. The simulator (test/sim) hands its in-memory sockets to the same function.
 */
export function serveSocket(node: ClusterNode, cfg: Config, log: Logger, socket: StreamSocket, clock?: Clock, guard?: HandshakeGuard): void {
  const source = socket.remoteAddress ?? '';
  if (guard && !guard.admit(source)) {
    node.stats.handshakesRefused.inc('throttled');
    socket.destroy();
    return;
  }
  void Connection.accept(socket, {
    guard,
    localName: node.name,
    cookie: cfg.node.cookie,
    boot: node.boot,
    clusterName: cfg.cluster.name,
    log,
    clock,
    stats: node.stats,
    welcomeInfo: (role, peer) => (role === 'join' ? node.inquiry.answer(peer) : undefined),
  }).then((conn) => {
    guard?.release(source);
    if (!conn) return;
    if (conn.role === 'node' || conn.role === 'join') {
      // A link being made: this process's stalls matter now (membership/stall-watch.ts). A ctl
      // session (a health check every few seconds) is not one, or the watch would never rest.
      node.stallWatch.wake();
      node.acceptLink(conn);
    }
    else conn.onRequest((op, body) => handleCtl(node, op, body));
  });
}
