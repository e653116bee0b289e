import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Fleet, staticSeedsEnv, waitFor, waitForStatus, type Agent } from '../support/agents';

// A command says exactly how far a change got: exit 0 only when every running member stored it.
// Agents on 127.0.41.x; a slow failure detector keeps a frozen member shown running for the write.
// The fast tuning profile: a write waits 1 s for acknowledgements, not 5 s.
describe('write, leave and force-leave results are honest', { timeout: 120_000 }, () => {
  const fleet = new Fleet(undefined, 'fast');
  const names = ['muster@127.0.41.2', 'muster@127.0.41.3', 'muster@127.0.41.4'];
  let a: Agent, b: Agent, c: Agent;
  before(async () => {
    [a, b, c] = await fleet.startAll(names, {
      ...staticSeedsEnv(names),
      MUSTER_CLUSTER__FAILURE_DETECTOR__PROBE_INTERVAL: '30s',
      MUSTER_CLUSTER__FAILURE_DETECTOR__PROBE_TIMEOUT: '20s',
    });
    await waitForStatus([a, b, c], names);
  });
  after(() => fleet.close());

  it('a put every running member stored prints OK and exits 0', async () => {
    const r = await a.ctl(['data', 'put', 'everywhere', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'OK');
  });

  it('a put a running member did not acknowledge exits 3 naming it, and reaches it when it is back', async () => {
    c.proc!.kill('SIGSTOP');
    try {
      const r = await a.ctl(['data', 'put', 'partly', 'yes']);
      assert.equal(r.code, 3, `${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, '', 'no OK');
      assert.match(r.stderr, /the write of 'partly' is held by this node and muster@127\.0\.41\.3; not acknowledged in time by muster@127\.0\.41\.4 \(running members\)/);
      const del = await b.ctl(['data', 'del', 'everywhere']);
      assert.equal(del.code, 3, del.stderr);
      assert.match(del.stderr, /the delete of 'everywhere' is held by this node and muster@127\.0\.41\.2; not acknowledged in time by muster@127\.0\.41\.4/);
    } finally {
      c.proc!.kill('SIGCONT');
    }
    await waitFor(async () => (await c.ctl(['data', 'get', 'partly'])).stdout.trim() === 'yes', 20_000, 'the write to reach the member that was frozen');
    await waitFor(async () => (await c.ctl(['data', 'get', 'everywhere'])).code === 1, 20_000, 'the delete to reach it');
    const again = await c.ctl(['data', 'put', 'after', '1']);
    assert.equal(again.code, 0, again.stderr);
  });

  it('force-leave says who acknowledged the removal', async () => {
    await c.signal('SIGKILL');
    const r = await a.ctl(['cluster', 'force-leave', c.name]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Removed muster@127\.0\.41\.4 from the cluster; acknowledged by muster@127\.0\.41\.3\./);
    await waitForStatus([a, b], names.slice(0, 2));
  });
});
