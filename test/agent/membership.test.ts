import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Fleet, waitFor, waitForStatus, type Agent } from '../support/agents';

// Real agent processes on loopback addresses 127.0.2.x, driven through `muster ctl` as a user would.
describe('manual clustering with muster ctl', { timeout: 240_000 }, () => {
  const fleet = new Fleet();
  let a: Agent, b: Agent, c: Agent;
  const names = ['muster@127.0.2.2', 'muster@127.0.2.3', 'muster@127.0.2.4'];

  before(async () => {
    [a, b, c] = await fleet.startAll(names);
  });
  after(() => fleet.close());

  it('a fresh node is a cluster of one', async () => {
    const s = await a.status();
    assert.deepEqual(s.running_nodes, [a.name]);
    assert.deepEqual(s.stopped_nodes, []);
  });

  it('three nodes form one cluster by join and every node agrees on the status', async () => {
    const j1 = await b.ctl(['cluster', 'join', a.name]);
    assert.equal(j1.code, 0, j1.stderr);
    assert.match(j1.stdout, /Join the cluster successfully/);
    const j2 = await c.ctl(['cluster', 'join', b.name]);
    assert.equal(j2.code, 0, j2.stderr);
    await waitForStatus([a, b, c], names);
    const text = await a.ctl(['cluster', 'status']);
    assert.match(text.stdout, /running_nodes => \['muster@127\.0\.2\.2','muster@127\.0\.2\.3','muster@127\.0\.2\.4'\]/);
    await waitFor(() => b.logged(/joined the cluster of muster@127\.0\.2\.2/), 5000, 'the joiner to log whom it joined');
  });

  it('data written on one node is read on the others as soon as the write returns', async () => {
    assert.equal((await a.ctl(['data', 'put', 'colour', 'blue'])).code, 0);
    for (const n of [b, c]) assert.equal((await n.ctl(['data', 'get', 'colour'])).stdout.trim(), 'blue');
    assert.equal((await c.ctl(['data', 'put', 'colour', 'green'])).code, 0);
    assert.equal((await a.ctl(['data', 'get', 'colour'])).stdout.trim(), 'green');
    assert.equal((await b.ctl(['data', 'del', 'colour'])).code, 0);
    const gone = await a.ctl(['data', 'get', 'colour']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /no key 'colour'/);
    assert.equal((await a.ctl(['data', 'put', 'shape', 'round'])).code, 0);
    assert.deepEqual(JSON.parse((await c.ctl(['data', 'list', '--json'])).stdout), { shape: 'round' });
  });

  it('a SIGKILLed node shows stopped everywhere and returns to running by itself on restart, with its data', async () => {
    await c.signal('SIGKILL');
    await waitForStatus([a, b], [a.name, b.name], [c.name]);
    assert.equal((await a.ctl(['data', 'put', 'while-away', 'yes'])).code, 0);
    await c.start();
    await waitForStatus([a, b, c], names);
    assert.equal((await c.ctl(['data', 'get', 'shape'])).stdout.trim(), 'round');
    assert.equal((await c.ctl(['data', 'get', 'while-away'])).stdout.trim(), 'yes', 'the restarted node catches up on writes it missed');
  });

  it('SIGTERM makes a node exit 0 and show as stopped, not removed', async () => {
    const code = await c.signal('SIGTERM');
    assert.equal(code, 0);
    await waitForStatus([a, b], [a.name, b.name], [c.name], 5000);
    await c.start();
    await waitForStatus([a, b, c], names);
  });

  it('force-leave removes a dead node from every member', async () => {
    await c.signal('SIGKILL');
    await waitForStatus([a, b], [a.name, b.name], [c.name]);
    const r = await a.ctl(['cluster', 'force-leave', c.name]);
    assert.equal(r.code, 0, r.stderr);
    await waitForStatus([a, b], [a.name, b.name], []);
    const again = await a.ctl(['cluster', 'force-leave', c.name]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /is not a member of this cluster/);
  });

  it('a force-left node that comes back is told it was removed and stays out', async () => {
    await c.start();
    await waitFor(() => c.logged(/now standalone: removed by muster@127\.0\.2\.2 \(force-leave\)/), 15_000, 'c to learn it was removed');
    await waitForStatus([c], [c.name]);
    await waitForStatus([a, b], [a.name, b.name]);
  });

  it('force-leave of a live node makes it standalone', async () => {
    assert.equal((await c.ctl(['cluster', 'join', a.name])).code, 0);
    await waitForStatus([a, b, c], names);
    const r = await b.ctl(['cluster', 'force-leave', c.name]);
    assert.equal(r.code, 0, r.stderr);
    await waitForStatus([a, b], [a.name, b.name]);
    await waitForStatus([c], [c.name]);
  });

  it('leave makes the node standalone and the others forget it', async () => {
    assert.equal((await c.ctl(['cluster', 'join', a.name])).code, 0);
    await waitForStatus([a, b, c], names);
    const r = await b.ctl(['cluster', 'leave']);
    assert.equal(r.code, 0, r.stderr);
    await waitForStatus([a, c], [a.name, c.name]);
    await waitForStatus([b], [b.name]);
    const again = await b.ctl(['cluster', 'leave']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /not in a cluster/);
  });

  it("a joiner drops its own data, takes the cluster's, and leaves its previous cluster", async () => {
    // b is standalone; c is in the cluster {a, c}. When c joins b, it leaves {a, c} and takes b's data.
    assert.equal((await b.ctl(['data', 'put', 'only-on-b', '1'])).code, 0);
    assert.equal((await c.ctl(['data', 'put', 'only-on-ac', '1'])).code, 0);
    const r = await c.ctl(['cluster', 'join', b.name]);
    assert.equal(r.code, 0, r.stderr);
    await waitForStatus([b, c], [b.name, c.name]);
    await waitForStatus([a], [a.name]);
    assert.equal((await c.ctl(['data', 'get', 'only-on-b'])).stdout.trim(), '1');
    const old = await c.ctl(['data', 'get', 'only-on-ac']);
    assert.equal(old.code, 1, 'the joiner dropped the data of its old cluster');
    assert.equal((await a.ctl(['data', 'get', 'only-on-ac'])).stdout.trim(), '1', 'the old cluster keeps its data');
  });

  it('membership and data survive a restart of every node', async () => {
    await Promise.all([a, b, c].map((n) => n.signal('SIGKILL')));
    await Promise.all([a, b, c].map((n) => n.start()));
    await waitForStatus([b, c], [b.name, c.name]);
    await waitForStatus([a], [a.name]);
    assert.equal((await c.ctl(['data', 'get', 'only-on-b'])).stdout.trim(), '1');
  });

  it('join errors are clear and change nothing', async () => {
    const self = await a.ctl(['cluster', 'join', a.name]);
    assert.equal(self.code, 1);
    assert.match(self.stderr, /cannot join itself/);
    const nobody = await a.ctl(['cluster', 'join', 'muster@127.0.2.99']);
    assert.equal(nobody.code, 1);
    assert.match(nobody.stderr, /cannot connect to 127\.0\.2\.99:4370: ECONNREFUSED/);
    const bad = await a.ctl(['cluster', 'join', 'not-a-node-name']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /must be name@host/);
    const wrongCookie = await a.ctl(['cluster', 'join', b.name], { MUSTER_NODE__COOKIE: 'other' });
    assert.equal(wrongCookie.code, 1, 'ctl itself is refused by its own node with the wrong cookie');
    await waitForStatus([a], [a.name]);
  });
});
