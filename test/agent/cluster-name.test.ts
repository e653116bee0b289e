import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Fleet, staticSeedsEnv, waitFor } from '../support/agents';

// Two clusters that share a cookie (a copy-paste outcome) must not merge: cluster.name is agreed
// on in every handshake, after the cookie proof, and refused on both sides. Agents on 127.0.44.x.
describe('cluster.name is enforced', { timeout: 60_000 }, () => {
  const fleet = new Fleet();
  after(() => fleet.close());
  const names = ['muster@127.0.44.2', 'muster@127.0.44.3'];

  it('static discovery does not link nodes of two cluster names; both sides log both names; cluster join exits 1 saying so', async () => {
    const [good, evil] = await Promise.all([
      (async () => {
        const a = fleet.agent(names[0], { ...staticSeedsEnv(names), MUSTER_CLUSTER__NAME: 'payments' });
        await a.start();
        return a;
      })(),
      (async () => {
        const a = fleet.agent(names[1], { ...staticSeedsEnv(names), MUSTER_CLUSTER__NAME: 'evil' });
        await a.start();
        return a;
      })(),
    ]);
    const refusal = /muster@127\.0\.44\.[23] is in cluster '(evil|payments)', this node in '(payments|evil)': cluster\.name must be the same on every node of a cluster/;
    await waitFor(() => good.logged(refusal) && evil.logged(refusal), 15_000, 'both sides to log the refusal naming both names');
    assert.deepEqual((await good.status()).running_nodes, [good.name], 'still a cluster of one');
    assert.deepEqual((await evil.status()).running_nodes, [evil.name]);
    const join = await evil.ctl(['cluster', 'join', good.name]);
    assert.equal(join.code, 1, join.stdout);
    assert.match(join.stderr, /muster@127\.0\.44\.2 is in cluster 'payments', muster@127\.0\.44\.3 in 'evil': cluster\.name must be the same on every node/);
    assert.deepEqual((await good.status()).running_nodes, [good.name]);
    assert.equal((await good.ctl(['data', 'put', 'mine', '1'])).code, 0);
    assert.equal((await evil.ctl(['data', 'get', 'mine'])).code, 1, 'no data crossed');
  });
});
