import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { Fleet, waitFor, waitForStatus } from '../support/agents';

// Agents on 127.0.17.x.
describe('readiness, status timings and restart safety', { timeout: 120_000 }, () => {
  const fleet = new Fleet();
  after(() => fleet.close());
  const names = ['muster@127.0.17.2', 'muster@127.0.17.3', 'muster@127.0.17.4'];

  it('ready means a running member of a cluster of at least cluster.ready_min_nodes; ping stays liveness', async () => {
    const [a, b] = await fleet.startAll(names.slice(0, 2), { MUSTER_CLUSTER__READY_MIN_NODES: '2' });
    const alone = await a.ctl(['cluster', 'ready']);
    assert.equal(alone.code, 1);
    assert.match(alone.stderr, /not ready: 1 running member\(s\), cluster\.ready_min_nodes = 2/);
    assert.equal((await a.ctl(['ping'])).code, 0, 'alive all the same');
    assert.equal((await b.ctl(['cluster', 'join', a.name])).code, 0);
    await waitForStatus([a, b], names.slice(0, 2));
    const ready = await a.ctl(['cluster', 'ready']);
    assert.equal(ready.code, 0, ready.stderr);
    assert.match(ready.stdout, /ready: running member of a cluster of 2/);
    await b.signal('SIGKILL');
    await waitForStatus([a], [a.name], [b.name]);
    assert.equal((await a.ctl(['cluster', 'ready'])).code, 1, 'below ready_min_nodes again');
    await b.start();
    await waitForStatus([a, b], names.slice(0, 2));
  });

  it('status says how long a dead node takes to show stopped and to be autocleaned', async () => {
    const s = await fleet.agents[0].ctl(['cluster', 'status']);
    assert.match(s.stdout, /Timings: a dead member shows stopped within 3s \(a crashed process at once\), removed by autoclean after 24h stopped; autoheal on/);
    const j = JSON.parse((await fleet.agents[0].ctl(['cluster', 'status', '--json'])).stdout);
    assert.deepEqual(j.timings, { stopped_after_ms: 3000, autoclean_after_ms: 86_400_000, autoclean_allowed: true, autoheal: true });
  });

  it('a node whose data dir was lost comes back empty and is taken back by its cluster, with the data', async () => {
    const [a, b] = fleet.agents;
    const c = fleet.agent(names[2], { MUSTER_CLUSTER__READY_MIN_NODES: '2' });
    await c.start();
    assert.equal((await c.ctl(['cluster', 'join', a.name])).code, 0);
    await waitForStatus([a, b, c], names);
    assert.equal((await a.ctl(['data', 'put', 'k', 'v'])).code, 0);
    await c.signal('SIGKILL');
    rmSync(c.dataDir, { recursive: true, force: true });
    await c.start();
    await waitForStatus([a, b, c], names, [], 20_000);
    await waitFor(() => c.logged(/adopted by the cluster of muster@127\.0\.17\.[23]: this node had no state/), 5000, 'the node to log its adoption');
    assert.equal((await c.ctl(['data', 'get', 'k'])).stdout.trim(), 'v');
    await waitFor(async () => (await c.ctl(['cluster', 'ready'])).code === 0, 10_000, 'c to be ready');
  });
});
