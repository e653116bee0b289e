import type { TlsMaterial } from '../transport/tls';
import type { ClusterNode } from './cluster';
import { PeerManager } from './peers';

/**
 * The node's links (peers.ts) and what their losses say about liveness: which lost link is a down
 * claim, which is not (Lifeguard's rule for a node that stalled itself), and a peer that answered
 * after all synced again.
 */
export function linksFor(n: ClusterNode, tls: TlsMaterial | undefined): PeerManager {
  const { cfg, rt } = n;
  return new PeerManager({
    tuning: n.tuning.links,
    runtime: rt,
    clusterName: cfg.cluster.name,
    self: n.name,
    cookie: cfg.node.cookie,
    boot: n.boot,
    port: cfg.cluster.port,
    resolver: n.resolver,
    tls,
    log: n.log,
    stats: n.stats,
    onLink: (conn) => n.onLink(conn),
    // Links between cores and replicants kept without being wanted (membership/roles.ts).
    keeps: (peer) => n.keepsLinkOf(peer),
    isRemoved: (peer) => n.replica.members.get(peer)?.state === 'removed',
    onDown: (peer, reason, conn, neighbour, probed) => {
      n.stallWatch.catchUp();
      // A replicant judges no core while a core is linked (the cores judge each other, and tell
      // it); with none left, it has only its own word.
      if (n.role === 'replicant') {
        // A core that stopped or went silent is passed over; a link merely lost (a reset) is
        // dialled again at once, as between cores: a dial that fails passes it over then.
        if (conn.saidBye || probed) n.passOverCore(peer, conn.saidBye ? 'it stopped' : `it went silent: ${reason}`);
        if (!n.coreLinked() && (conn.saidBye || probed || n.health.stallMs(rt.clock.now()) === 0)) n.merges.claimDown(peer, conn.peerBoot, conn.saidBye, reason);
        return;
      }
      // Only a neighbour's loss says the member is down: a link kept only until it is closed as
      // unneeded says nothing (its other end may have closed it for the same reason).
      // A process that stalled itself (just thawed, or starved) reads links closed by peers that
      // gave up waiting for it: that says nothing about them (Lifeguard's rule). A goodbye does.
      // The prober's verdict stands: its timeouts were already stretched for the stall.
      if (neighbour && (conn.saidBye || probed || n.health.stallMs(rt.clock.now()) === 0)) n.merges.claimDown(peer, conn.peerBoot, conn.saidBye, reason);
    },
    onUnreachable: (peer, reason, code, errno) => {
      n.stallWatch.catchUp();
      // Shown running by gossip, but this neighbour cannot link to it: with no link up, no one
      // would ever probe it. A member that runs after all answers the claim once it hears it.
      // A peer that closed the handshake runs (it closed it): no claim (a node just thawed
      // from a stop found its own stalled dials closed by peers that had given up on it).
      if (n.role === 'replicant') {
        n.passOverCore(peer, `cannot link to it: ${reason}`);
        // A core that refused it as full runs; with another core linked, the cores judge.
        if (n.coreLinked() || n.coreTrouble.isFull(peer)) return;
      }
      if (code === 'closed') return;
      // A process that stalled itself (just thawed, or starved) finds its links given up by
      // peers that waited for it: that says nothing about them (Lifeguard's rule). A refused
      // connection does: nothing listens there now, whatever this process went through. A
      // replicant with no core linked has only its own word, and a stall must not keep it showing
      // stopped cores running (cores have their prober, whose timeouts stretch instead).
      const refusedNow = n.role === 'replicant' && errno === 'ECONNREFUSED';
      if (!refusedNow && n.health.stallMs(rt.clock.now()) > 0) return;
      const known = n.liveness.get(peer);
      if (known?.up) n.merges.claimDown(peer, known.boot, false, `cannot link to it: ${reason}`);
    },
    handshakeTimeoutMs: () => 2 * n.health.timeoutMs(cfg.cluster.failure_detector.probe_timeout, rt.clock.now()),
    stalled: () => n.health.stallMs(rt.clock.now()) > 0,
    // A dial whose failure would be a claim (the peer is shown running) is judged by this
    // process's stalls; the redials of a member shown stopped, every 2 s while it is, are not.
    onDialing: (peer) => {
      if (n.liveness.get(peer)?.up) n.stallWatch.wake();
    },
    onRevive: (conn) => {
      n.log.info({ peer: conn.peerName }, `${conn.peerName} answered after all: syncing again on the same link`);
      n.sync.syncLink(conn);
    },
  });
}
