import type { ClusterNode } from './cluster';
import type { OpBody } from '../transport/messages';
import { ranksBefore } from './ranking';

/**
 * A join offered with a discovery probe. A lone node's probe of a found node carries its join
 * (`if_ranks_before`: its own core members), sent with the handshake's auth; the member takes it
 * when autocluster on the joiner would have joined it after reading the probe's answer, and
 * declines it otherwise. An admission then takes two round trips after the TCP connect (hello and
 * challenge; auth, join and welcome, answer) instead of three, each a turn of two processes that
 * on a loaded machine wait for the CPU.
 *
 * The member applies the joiner's rule (membership/autocluster.ts) to the same facts: its own
 * running cores against the joiner's cores less those running here, by `ranksBefore`. Only a
 * cluster of two or more cores takes an offer: two lone nodes pair up through the joiner's own
 * choice, which waits for the discovered set to settle first.
 */
export function whyDecline(n: ClusterNode, joiner: string, body: OpBody<'join'>): string | undefined {
  const theirs = body.if_ranks_before;
  if (!theirs) return undefined;
  if (n.role === 'replicant') return `${n.name} is a replicant: only core nodes admit members`;
  if (body.cluster_id === n.replica.clusterId) return `${joiner} is in this cluster already`;
  const running = new Set(n.runningNodes());
  const mine = n.runningCores();
  if (mine.length < 2) return `the cluster of ${n.name} has ${mine.length} running core(s): a lone node is joined by the joiner's own choice`;
  if (!ranksBefore({ members: mine }, { members: theirs.filter((m) => !running.has(m)) })) return `the cluster of ${n.name} does not rank before that of ${joiner}`;
  return undefined;
}
