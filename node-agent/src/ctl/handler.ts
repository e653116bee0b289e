import type { ClusterNode } from '../membership/cluster';
import { PeerError } from '../transport/connection';
import type { Op, OpBody } from '../transport/messages';

/** Serves `muster ctl` requests on the local node. */
export async function handleCtl(node: ClusterNode, op: Op, body: unknown): Promise<unknown> {
  switch (op) {
    case 'ping':
      return { node: node.name, pong: true };
    case 'status':
      return node.status();
    case 'ready':
      return node.ready();
    case 'cluster-join':
      // EMQX: manual clustering is for core nodes; a replicant finds its cores through discovery.
      if (node.role === 'replicant') throw new PeerError('refused', `${node.name} is a replicant (node.role = replicant): replicants join through discovery (cluster.discovery_strategy = ${node.cfg.cluster.discovery_strategy}), and cluster join is for core nodes only`);
      return node.joins.join((body as OpBody<'cluster-join'>).node);
    case 'cluster-leave':
      return node.joins.leave();
    case 'cluster-force-leave':
      return node.joins.forceLeave((body as OpBody<'cluster-force-leave'>).node);
    case 'data-put': {
      const b = body as OpBody<'data-put'>;
      return node.data.put(b.key, b.value);
    }
    case 'data-get': {
      const { key } = body as OpBody<'data-get'>;
      const value = node.data.get(key);
      if (value === undefined) throw new PeerError('not_found', `no key '${key}'`);
      return { key, value };
    }
    case 'data-del':
      return node.data.del((body as OpBody<'data-del'>).key);
    case 'data-list':
      return node.data.list();
    default:
      throw new PeerError('bad_request', `'${op}' is not a ctl operation`);
  }
}
