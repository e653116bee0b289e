import type { NodeRole } from '../config/schema';
import type { ClusterNode } from '../membership/cluster';
import { coresFor } from '../membership/roles';
import { neighbours } from '../membership/overlay';
import type { Status } from '../membership/status';
import type { MembershipEvent } from './stats';

/**
 * What `/api/v1/cluster`, `/api/v1/nodes` and the cluster page show: `cluster status --json`, and
 * for each member its role, incarnation, whether this node links to it and when it last heard it;
 * the overlay's links; the last membership events. Read-only views of the node.
 */

/** Past this many members the overlay's links are not drawn: working them out is O(N^2) name hashes, on every refresh. */
export const MAX_MEMBERS_WITH_LINKS = 200;

export interface NodeView {
  name: string;
  /** EMQX 5's node roles (node.role). */
  role: NodeRole;
  status: 'running' | 'stopped';
  /** Kept apart after a partition with autoheal off. */
  partitioned: boolean;
  /** The member's incarnation (raised each time it answers a report that it was down), and its process run. */
  incarnation?: number;
  boot?: string;
  /** Whether this node has a link up to it (the overlay links each member to a few). */
  linked: boolean;
  /** When a frame last came from it on a link of this node (ISO 8601); this node itself: now. */
  last_heard?: string;
}

export interface ClusterView extends Status {
  nodes: NodeView[];
  /** The overlay's links between running members, each pair once, as every member works them out; absent past MAX_MEMBERS_WITH_LINKS. */
  links?: Array<[string, string]>;
  events: readonly MembershipEvent[];
}

export function nodesOf(n: ClusterNode): NodeView[] {
  const running = new Set(n.runningNodes());
  const now = n.rt.clock.now();
  return n.memberNames().sort().map((name) => {
    const alive = n.liveness.get(name);
    const heard = name === n.name ? now : n.stats.lastHeard.get(name);
    return {
      name,
      role: n.isReplicant(name) ? 'replicant' : 'core',
      status: running.has(name) ? 'running' : 'stopped',
      partitioned: n.partitions.isApart(name),
      incarnation: alive?.inc,
      boot: alive?.boot,
      linked: name !== n.name && n.peers.isUp(name),
      last_heard: heard === undefined ? undefined : new Date(heard).toISOString(),
    };
  });
}

export function overlayLinks(n: ClusterNode): Array<[string, string]> | undefined {
  const members = n.memberNames();
  if (members.length > MAX_MEMBERS_WITH_LINKS) return undefined;
  const running = n.runningNodes();
  const up = new Set(running);
  const links: Array<[string, string]> = [];
  const cores = members.filter((m) => !n.isReplicant(m));
  const linkedFrom = (a: string) => (n.isReplicant(a) ? coresFor(a, cores, (m) => up.has(m), n.tuning.roles.coreLinks) : neighbours(a, cores, (m) => up.has(m)));
  for (const a of running) {
    for (const b of linkedFrom(a)) {
      if (up.has(b) && (a < b || n.isReplicant(a))) links.push(a < b ? [a, b] : [b, a]);
    }
  }
  return links.sort();
}

export function clusterView(n: ClusterNode): ClusterView {
  return { ...n.status(), nodes: nodesOf(n), links: overlayLinks(n), events: n.stats.recentEvents() };
}
