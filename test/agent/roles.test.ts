import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Fleet, staticSeedsEnv, waitFor, waitForStatus, type Agent } from '../support/agents';

// Core and replicant nodes (node.role) as real agent processes on 127.0.56.x, static discovery with
// the cores as seeds, driven through `muster ctl` as a user would.
describe('core and replicant nodes', { timeout: 300_000 }, () => {
  const fleet = new Fleet({ MUSTER_NODE__COOKIE: 'roles-cookie' }, 'fast');
  const coreNames = [2, 3, 4].map((i) => `muster@127.0.56.${i}`);
  const replicantNames = [10, 11, 12, 13, 14].map((i) => `muster@127.0.56.${i}`);
  const all = [...coreNames, ...replicantNames];
  const env = staticSeedsEnv(coreNames);
  let cores: Agent[];
  let replicants: Agent[];

  before(async () => {
    cores = coreNames.map((n) => fleet.agent(n, env));
    replicants = replicantNames.map((n) => fleet.agent(n, { ...env, MUSTER_NODE__ROLE: 'replicant' }));
    await Promise.all([...cores, ...replicants].map((a) => a.start({}, 30_000)));
  });
  after(() => fleet.close());

  const everyone = () => [...cores, ...replicants];
  const json = async (a: Agent) => {
    const r = await a.ctl(['cluster', 'status', '--json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { running_nodes: string[]; stopped_nodes: string[]; role: string; roles: Record<string, string> };
  };

  it('3 cores and 5 replicants form one cluster; status lists replicants as EMQX does and --json gives every role', async () => {
    await waitForStatus(everyone(), all, [], 60_000, true);
    const s = await json(replicants[0]);
    assert.equal(s.role, 'replicant');
    for (const n of coreNames) assert.equal(s.roles[n], 'core');
    for (const n of replicantNames) assert.equal(s.roles[n], 'replicant');
    const text = await replicants[0].ctl(['cluster', 'status']);
    assert.match(text.stdout, /running_nodes => \['muster@127\.0\.56\.10',.*'muster@127\.0\.56\.14',.*'muster@127\.0\.56\.4'\]/);
    assert.match(text.stdout, /removed by autoclean after 24h stopped \(decided by the cores\)/);
    assert.match(text.stdout, /Roles: this node is a replicant; replicants \['muster@127\.0\.56\.10',.*\], the others are cores/);
    const ready = await replicants[0].ctl(['cluster', 'ready']);
    assert.equal(ready.code, 0, ready.stderr);
    assert.match(ready.stdout, /ready: replicant of a cluster of 8, linked to core\(s\) muster@127\.0\.56\.\d/);
  });

  it('cluster join is refused from a replicant and towards one, saying why', async () => {
    const from = await replicants[0].ctl(['cluster', 'join', coreNames[0]]);
    assert.equal(from.code, 1);
    assert.match(from.stderr, /muster@127\.0\.56\.10 is a replicant \(node\.role = replicant\): replicants join through discovery \(cluster\.discovery_strategy = static\), and cluster join is for core nodes only/);
    const loner = fleet.agent('muster@127.0.56.20');
    await loner.start();
    const towards = await loner.ctl(['cluster', 'join', replicantNames[1]]);
    assert.equal(towards.code, 1);
    assert.match(towards.stderr, /muster@127\.0\.56\.11 is a replicant \(node\.role = replicant\): only core nodes admit members; join one of its cores/);
    assert.deepEqual((await json(loner)).running_nodes, [loner.name], 'nothing changed on the node that asked');
    await loner.signal('SIGKILL');
    const force = await replicants[0].ctl(['cluster', 'force-leave', coreNames[2]]);
    assert.equal(force.code, 1);
    assert.match(force.stderr, /is a replicant: removing a member is decided by core nodes/);
  });

  it('a write on a replicant is made by a core and read on every node; reads on a replicant are local', async () => {
    const put = await replicants[2].ctl(['data', 'put', 'colour', 'blue']);
    assert.equal(put.code, 0, put.stderr);
    for (const a of everyone()) assert.equal((await a.ctl(['data', 'get', 'colour'])).stdout.trim(), 'blue', a.name);
    const del = await replicants[3].ctl(['data', 'del', 'colour']);
    assert.equal(del.code, 0, del.stderr);
    const gone = await replicants[4].ctl(['data', 'get', 'colour']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /no key 'colour'/);
  });

  it('a core killed: its replicants move to the other cores, and every write acknowledged meanwhile is kept', async () => {
    await cores[0].signal('SIGKILL');
    const acked: Array<[string, string]> = [];
    for (let round = 0; round < 3; round++) {
      for (const r of replicants) {
        const key = `k-${round}-${r.host}`;
        const res = await r.ctl(['data', 'put', key, r.name]);
        if (res.code === 0) acked.push([key, r.name]);
        else assert.match(res.stderr, /did not answer|not acknowledged/, `a write that failed says why: ${res.stderr}`);
      }
    }
    assert.ok(acked.length >= 12, `most writes acknowledged while a core was down: ${acked.length} of 15`);
    await waitForStatus([cores[1], cores[2], ...replicants], all.filter((n) => n !== coreNames[0]), [coreNames[0]], 20_000, true);
    for (const r of replicants) assert.equal((await r.ctl(['cluster', 'ready'])).code, 0, `${r.name} is linked to a running core`);
    await cores[0].start();
    await waitForStatus(everyone(), all, [], 30_000, true);
    for (const a of everyone()) {
      const list = JSON.parse((await a.ctl(['data', 'list', '--json'])).stdout) as Record<string, string>;
      for (const [k, v] of acked) assert.equal(list[k], v, `${a.name} holds acknowledged write ${k}`);
    }
  });

  it('every core stopped: replicants read on, refuse writes with a clear error, and recover when the cores return', async () => {
    await replicants[0].ctl(['data', 'put', 'before', 'yes']);
    await Promise.all(cores.map((c) => c.signal('SIGTERM')));
    await waitForStatus(replicants, replicantNames, coreNames, 20_000, true);
    for (const r of replicants) {
      assert.equal((await r.ctl(['data', 'get', 'before'])).stdout.trim(), 'yes', `${r.name} reads from its copy`);
      const w = await r.ctl(['data', 'put', 'during', 'x']);
      assert.equal(w.code, 1);
      assert.match(w.stderr, /no core node is linked to this replicant \(cores: .*\): writes go through a core; reads go on from this node's copy/);
      const ready = await r.ctl(['cluster', 'ready']);
      assert.equal(ready.code, 1);
      assert.match(ready.stderr, /replicant with no core linked/);
    }
    const ids = new Set((await Promise.all(replicants.map((r) => r.statusDirect()))).map((s) => s.cluster_id));
    assert.equal(ids.size, 1, 'the replicants stay in their cluster: none formed one of its own');
    await Promise.all(cores.map((c) => c.start()));
    await waitForStatus(everyone(), all, [], 30_000, true);
    await waitFor(async () => (await replicants[4].ctl(['data', 'put', 'after', 'yes'])).code === 0, 10_000, 'a write through a replicant once the cores are back');
    for (const a of everyone()) assert.equal((await a.ctl(['data', 'get', 'after'])).stdout.trim(), 'yes', a.name);
  });
});
