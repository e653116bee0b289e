import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { whyDecline } from '../../node-agent/src/membership/join-offer';
import type { ClusterNode } from '../../node-agent/src/membership/cluster';
import type { OpBody } from '../../node-agent/src/transport/messages';

/** The member's side of a join offered with a probe: it takes exactly what the joiner's own rule would join. */
function member(o: { name?: string; role?: 'core' | 'replicant'; clusterId?: string; running: string[]; replicants?: string[] }): ClusterNode {
  const replicants = new Set(o.replicants ?? []);
  return {
    name: o.name ?? o.running[0],
    role: o.role ?? 'core',
    replica: { clusterId: o.clusterId ?? 'c-member' },
    runningNodes: () => o.running,
    runningCores: () => o.running.filter((m) => !replicants.has(m)),
  } as unknown as ClusterNode;
}
const offer = (joinerCores: string[], clusterId = 'c-joiner'): OpBody<'join'> => ({ cluster_id: clusterId, if_ranks_before: joinerCores });

describe('a join offered with a probe', () => {
  it('is taken by a cluster of two or more cores, from a lone node', () => {
    assert.equal(whyDecline(member({ running: ['b@h2', 'c@h3'] }), 'a@h1', offer(['a@h1'])), undefined, 'a cluster of several ranks before a single node, even one with a smaller name');
  });

  it('is declined by a lone node: two lone nodes pair up by the joiner’s own choice', () => {
    assert.match(whyDecline(member({ running: ['a@h1'] }), 'b@h2', offer(['b@h2'])) ?? '', /1 running core/);
  });

  it('is declined by a replicant, and by a cluster whose only other members are replicants', () => {
    assert.match(whyDecline(member({ name: 'r@h9', role: 'replicant', running: ['a@h1', 'r@h9'], replicants: ['r@h9'] }), 'z@h8', offer(['z@h8'])) ?? '', /replicant/);
    assert.match(whyDecline(member({ running: ['a@h1', 'r@h9'], replicants: ['r@h9'] }), 'z@h8', offer(['z@h8'])) ?? '', /1 running core/);
  });

  it('is declined by a cluster that ranks after the joiner’s (a smaller smallest name)', () => {
    assert.match(whyDecline(member({ running: ['c@h3', 'd@h4'] }), 'a@h1', offer(['a@h1', 'b@h2'])) ?? '', /does not rank before/);
    assert.equal(whyDecline(member({ running: ['a@h1', 'd@h4'] }), 'b@h2', offer(['b@h2', 'c@h3'])), undefined);
  });

  it('counts the joiner’s members running here as the member’s, as the joiner does', () => {
    // The joiner's cluster {a, x} less a, which runs in the member's cluster: x alone ranks after it.
    assert.equal(whyDecline(member({ running: ['a@h1', 'd@h4'] }), 'x@h7', offer(['a@h1', 'x@h7'])), undefined);
  });

  it('is declined by the joiner’s own cluster, and a join asked for (no offer) is not its concern', () => {
    assert.match(whyDecline(member({ running: ['a@h1', 'b@h2'], clusterId: 'same' }), 'c@h3', offer(['c@h3'], 'same')) ?? '', /already/);
    assert.equal(whyDecline(member({ running: ['a@h1'] }), 'b@h2', { cluster_id: 'c-joiner' }), undefined);
  });
});
