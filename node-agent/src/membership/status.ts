import type { ClusterNode } from './cluster';
import type { InfoReply } from '../transport/messages';
import type { Partition } from './partitions';
import { detectionBoundMs, mayAutoclean } from './failure-policy';
import type { NodeRole } from '../config/schema';

/** What a discovery probe learns of a node: its cluster, members and running members. */
export type ClusterInfo = InfoReply;

export interface DiscoveryStatus {
  strategy: string;
  last_run?: string;
  found: string[];
  last_error?: string;
  paused?: string;
}

/** `muster ctl cluster status --json`: EMQX's running and stopped nodes, and what decides them. */
export interface Status {
  node: string;
  cluster_name: string;
  cluster_id: string;
  discovery_strategy: string;
  running_nodes: string[];
  stopped_nodes: string[];
  /** This node's role (node.role). */
  role: NodeRole;
  /** Every member's role: replicants are listed in running_nodes and stopped_nodes like cores, as EMQX does. */
  roles: Record<string, NodeRole>;
  discovery?: DiscoveryStatus;
  partitions: Partition[];
  timings: { stopped_after_ms: number; autoclean_after_ms: number; autoclean_allowed: boolean; autoheal: boolean };
}

const sorted = (xs: Iterable<string>) => [...xs].sort();

export function statusOf(n: ClusterNode): Status {
  const names = n.memberNames();
  const running = n.runningNodes();
  const fd = n.cfg.cluster.failure_detector;
  return {
    node: n.name,
    cluster_name: n.cfg.cluster.name,
    cluster_id: n.replica.clusterId,
    discovery_strategy: n.cfg.cluster.discovery_strategy,
    running_nodes: sorted(running),
    stopped_nodes: sorted(names.filter((m) => !running.includes(m))),
    role: n.role,
    roles: Object.fromEntries(sorted(names).map((m) => [m, n.isReplicant(m) ? 'replicant' : 'core'])),
    discovery: n.discoveryView?.(),
    partitions: n.partitions.list(),
    timings: {
      stopped_after_ms: detectionBoundMs(fd.probe_interval, fd.probe_timeout),
      autoclean_after_ms: n.cfg.cluster.autoclean,
      autoclean_allowed: n.role === 'core' && mayAutoclean(n.coreNames(), n.runningCores()),
      autoheal: n.cfg.cluster.autoheal,
    },
  };
}

/** `muster ctl cluster ready`: a running member of a cluster of enough nodes, first sync done. */
export function readinessOf(n: ClusterNode): { ready: boolean; reason: string } {
  const running = n.runningNodes();
  const min = n.cfg.cluster.ready_min_nodes;
  if (!running.includes(n.name)) return { ready: false, reason: 'this node is not a running member of its cluster' };
  if (!n.firstSyncDone) return { ready: false, reason: 'first sync with the cluster not finished yet' };
  if (running.length < min) return { ready: false, reason: `${running.length} running member(s), cluster.ready_min_nodes = ${min}` };
  if (n.role === 'replicant') {
    // A replicant serves reads from its copy and writes through a core: without one it is not ready.
    const cores = n.peers.upLinks().filter((c) => !n.isReplicant(c.peerName)).map((c) => c.peerName);
    if (!cores.length) return { ready: false, reason: 'replicant with no core linked (writes need one)' };
    return { ready: true, reason: `replicant of a cluster of ${running.length}, linked to core(s) ${sorted(cores).join(', ')}` };
  }
  return { ready: true, reason: `running member of a cluster of ${running.length}` };
}

export function infoOf(n: ClusterNode): ClusterInfo {
  return { cluster_id: n.replica.clusterId, members: n.memberNames(), running: sorted(n.runningNodes()), cores: sorted(n.runningCores()), role: n.role };
}
