import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_TUNING, type Tuning } from '../../node-agent/src/tuning';
import { PeerError } from '../../node-agent/src/errors';
import { makeScenario } from './scenario';
import { simulate } from './simulate';
import { World, type SimNode } from './world';

/**
 * Core and replicant nodes (node.role, EMQX 5's Mria roles) on the real agent code in the
 * simulator: 3 cores (the static seeds) and the rest replicants.
 */
function world(replicants: number, seed = 1, tuning?: Tuning): World {
  return new World({ seed, nodes: 3 + replicants, replicants, seeds: 3, tuning });
}

async function form(w: World): Promise<void> {
  for (const n of w.nodes) w.sched.after(w.random.fraction() * 2000, () => n.start());
  await w.run(2000);
  const formed = await w.runUntil(() => w.converged(), 20_000);
  assert.ok(formed !== undefined, 'one cluster of every node');
}

const cores = (w: World) => w.nodes.slice(0, 3);
const replicants = (w: World) => w.nodes.slice(3);
const linksOf = (n: SimNode) => n.node!.peers.upLinks().map((c) => c.peerName);
const isCore = (w: World, name: string) => cores(w).some((c) => c.name === name);

/** What `p` settles to, running virtual time until it does (at most `ms`). */
async function settled<T>(w: World, p: Promise<T>, ms = 20_000): Promise<T> {
  let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  p.then(
    (value) => (outcome = { ok: true, value }),
    (error: unknown) => (outcome = { ok: false, error }),
  );
  await w.runUntil(() => outcome !== undefined, ms, 10);
  if (!outcome) throw new Error(`not settled within ${ms} ms of virtual time`);
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/** A write through `n` (a replicant forwards it to a core), run to its answer. */
const put = (n: SimNode, key: string, value: string) => settled(n.world, n.call((node) => node.data.put(key, value)));

describe('core and replicant nodes', () => {
  it('3 cores and 5 replicants form one cluster; status lists replicants and every role; replicants link to cores only', async () => {
    const w = world(5);
    await form(w);
    for (const n of w.running) {
      const s = n.node!.status();
      assert.equal(s.running_nodes.length, 8, `${n.name} lists every node running, replicants included`);
      for (const c of cores(w)) assert.equal(s.roles[c.name], 'core');
      for (const r of replicants(w)) assert.equal(s.roles[r.name], 'replicant');
      assert.equal(s.role, isCore(w, n.name) ? 'core' : 'replicant');
    }
    // The ring is of cores; a replicant's links go to its cores (two), none to another replicant.
    await w.run(6000); // links no longer wanted are closed after a grace
    for (const r of replicants(w)) {
      const links = linksOf(r);
      assert.equal(links.length, DEFAULT_TUNING.roles.coreLinks, `${r.name} links to ${links.join(', ')}`);
      assert.ok(links.every((p) => isCore(w, p)), `${r.name} links to cores only: ${links.join(', ')}`);
    }
    for (const c of cores(w)) {
      const coreLinks = linksOf(c).filter((p) => isCore(w, p));
      assert.equal(coreLinks.length, 2, `${c.name} links to the other two cores`);
    }
  });

  it('a write on a replicant is made by a core, answered with its acknowledgements, and read everywhere; a replicant serves reads from its copy', async () => {
    const w = world(5);
    await form(w);
    const r = replicants(w)[0];
    const result = await put(r, 'colour', 'blue');
    assert.deepEqual(result.failed, []);
    assert.ok(isCore(w, result.acked[0]), `the first acknowledgement is the core it went through: ${result.acked.join(', ')}`);
    assert.equal(r.node!.data.get('colour'), 'blue', 'the replicant reads its own write at once');
    await w.run(200);
    for (const n of w.running) assert.equal(n.node!.data.get('colour'), 'blue', `${n.name} reads the write`);
  });

  it('a core crashed: its replicants move to another core, and no write acknowledged meanwhile is lost', async () => {
    const w = world(5, 2);
    await form(w);
    await w.run(6000);
    const victim = cores(w)[0];
    const moved = replicants(w).filter((r) => linksOf(r).includes(victim.name));
    assert.ok(moved.length > 0, 'the crashed core carried replicants');
    const acked = new Map<string, string>();
    let seq = 0;
    const writeFromAll = () => {
      for (const r of replicants(w)) {
        const key = `k${++seq}`;
        r.call((node) => node.data.put(key, r.name)).then(
          () => acked.set(key, r.name),
          () => undefined,
        );
      }
    };
    writeFromAll();
    await w.run(50);
    victim.crash();
    for (let i = 0; i < 10; i++) {
      writeFromAll();
      await w.run(300);
    }
    for (const r of moved) {
      const links = linksOf(r);
      assert.ok(!links.includes(victim.name) && links.length === 2 && links.every((p) => isCore(w, p)), `${r.name} linked to two running cores: ${links.join(', ')}`);
    }
    await w.run(1000);
    assert.ok(acked.size >= 40, `most writes were acknowledged: ${acked.size}`);
    for (const n of w.running) for (const [k, v] of acked) assert.equal(n.node!.data.get(k), v, `${n.name} holds acknowledged write ${k}`);
  });

  it('every core stopped: replicants go on reading, refuse writes with a clear error, form no cluster of their own, and recover when a core returns', async () => {
    const w = world(5, 3);
    await form(w);
    await put(replicants(w)[1], 'before', 'yes');
    await w.run(200);
    for (const c of cores(w)) c.crash();
    await w.run(5000);
    for (const r of replicants(w)) {
      assert.equal(r.node!.data.get('before'), 'yes', `${r.name} still reads`);
      await assert.rejects(put(r, 'during', 'x'), (e: PeerError) => e.code === 'no_core' && /no core node is linked to this replicant/.test(e.message));
      const s = r.node!.status();
      assert.deepEqual(s.stopped_nodes.filter((m) => s.roles[m] === 'core').length, 3, `${r.name} shows the cores stopped`);
      assert.equal(s.running_nodes.length + s.stopped_nodes.length, 8, `${r.name} keeps its cluster's member list: no cluster of its own`);
      assert.equal(r.node!.ready().ready, false);
    }
    const ids = new Set(replicants(w).map((r) => r.node!.status().cluster_id));
    assert.equal(ids.size, 1, 'the replicants stay in their cluster');
    for (const c of cores(w)) c.start();
    const back = await w.runUntil(() => w.converged(), 20_000);
    assert.ok(back !== undefined, 'one cluster again once the cores return');
    assert.equal(new Set(w.running.map((n) => n.node!.status().cluster_id)).size, 1);
    const again = await put(replicants(w)[2], 'after', 'yes');
    assert.deepEqual(again.failed, []);
    for (const r of replicants(w)) assert.equal(r.node!.ready().ready, true, `${r.name} is ready again`);
  });

  it('every core stopped in an orderly way at once (SIGTERM): every replicant shows them stopped within a second and a half, one starved by its machine too', async () => {
    // Seeds 3 and 4 took 7 s for the starved replicant: a refused dial was not taken as its word
    // while it stalled (Lifeguard's rule), though nothing listened there.
    const slow: string[] = [];
    for (let seed = 1; seed <= 8; seed++) {
      const w = world(5, seed);
      await form(w);
      await w.run(3000);
      const victim = replicants(w)[0];
      // Starved: frozen 400 ms in every 1.5 s, 20 times (a machine short of CPU).
      for (let i = 0; i < 20; i++) {
        w.sched.after(i * 1500, () => victim.process && w.sched.freeze(victim.process));
        w.sched.after(i * 1500 + 400, () => victim.process && w.sched.thaw(victim.process));
      }
      const stops = cores(w).map((c) => new Promise<void>((resolve) => w.sched.after(100 + w.random.fraction() * 60, () => void c.stop().then(resolve))));
      const all = await w.runUntil(() => replicants(w).every((r) => cores(w).every((c) => r.node!.status().stopped_nodes.includes(c.name))), 20_000, 100);
      await settled(w, Promise.all(stops));
      if (all === undefined || all > 1500) slow.push(`seed ${seed}: ${all === undefined ? 'not within 20 s' : `${all} ms`}`);
    }
    assert.deepEqual(slow, []);
  });

  it('a frozen replicant is shown stopped by its cores within the detection bound; a core with no replicant linked runs no replicant check', async () => {
    const w = world(2, 5);
    await form(w);
    await w.run(3000);
    const victim = replicants(w)[0];
    const linkedTo = cores(w).filter((c) => c.node!.peers.isUp(victim.name));
    assert.ok(linkedTo.length > 0, 'the replicant is linked to a core');
    w.sched.freeze(victim.process!);
    // Interval + 2 x timeout (2.3 s here, as before the check ran only with replicants linked), then
    // the claim's spread: the cores' check is what sees a silent replicant.
    const shown = await w.runUntil(() => cores(w).every((c) => c.node!.status().stopped_nodes.includes(victim.name)), 5000, 50);
    assert.ok(shown !== undefined && shown < 3000, `every core shows ${victim.name} stopped within 3 s (took ${shown ?? 'more than 5 s'})`);
    w.sched.thaw(victim.process!);

    // Cores only: no 100 ms check tick (it was a third of an idle agent's wake-ups), and once the
    // links are made no stall watch either (membership/stall-watch.ts): at rest only the prober wakes.
    const alone = world(0, 5);
    await form(alone);
    await alone.run(3000);
    for (const c of alone.nodes) assert.equal(c.node!.heartbeat.ticking, false, `${c.name} has no replicant check running`);
    await alone.run(DEFAULT_TUNING.health.watchForMs);
    const watching = () => alone.running.filter((c) => c.node!.stallWatch.watching).map((c) => c.name);
    const woke = await alone.runUntil(() => watching().length > 0, 10_000, 100);
    assert.equal(woke, undefined, `at rest no stall watch runs (${watching().join(', ')} woke after ${woke} ms)`);
    // Nor with a member crashed, once its loss has been handled: its neighbours redial it every
    // 2 s, but a member shown stopped is no claim to make, so those dials do not wake the watch.
    const lost = alone.nodes[alone.nodes.length - 1];
    lost.crash();
    const handled = await alone.runUntil(() => alone.running.every((c) => c.node!.status().stopped_nodes.includes(lost.name)), 5000);
    assert.ok(handled !== undefined, `${lost.name} is shown stopped`);
    await alone.run(DEFAULT_TUNING.health.watchForMs + 500);
    const wokeAfter = await alone.runUntil(() => watching().length > 0, 20_000, 100);
    assert.equal(wokeAfter, undefined, `with a member down, no stall watch runs at rest (${watching().join(', ')} woke after ${wokeAfter} ms)`);
  });

  it('a partition between cores heals as before, and the replicants follow with the merged data', async () => {
    const w = world(5, 4);
    await form(w);
    await w.run(6000);
    const [a, b, c] = cores(w);
    // a alone against b and c; each replicant stays with whatever side its links reach.
    w.net.partition([[a.address], [b.address, c.address, ...replicants(w).map((r) => r.address)]]);
    await w.run(5000);
    assert.ok(!b.node!.status().running_nodes.includes(a.name), 'the far core shows stopped');
    await put(b, 'side', 'bc');
    await w.run(200);
    w.net.healPartition();
    const healed = await w.runUntil(() => w.converged() && w.running.every((n) => n.node!.data.get('side') === 'bc'), 20_000);
    assert.ok(healed !== undefined, 'one cluster again, every node with the write made during the partition');
    assert.ok(a.node!.status().partitions.some((p) => p.healed), 'the lone core logged a healed partition');
  });

  it('cores carry at most tuning.roles.maxReplicantLinks replicants; the rest link to their next core', async () => {
    const tuning: Tuning = { ...DEFAULT_TUNING, roles: { ...DEFAULT_TUNING.roles, maxReplicantLinks: 12 } };
    // 24 replicants x 2 links over 3 cores is 16 a core: more than 12, so some second links are refused.
    const w = world(24, 5, tuning);
    await form(w);
    await w.run(8000);
    for (const c of cores(w)) {
      const carried = linksOf(c).filter((p) => !isCore(w, p)).length;
      assert.ok(carried <= 12, `${c.name} carries ${carried} replicants`);
    }
    for (const r of replicants(w)) assert.ok(linksOf(r).length >= 1, `${r.name} is linked to a core`);
    const total = cores(w).reduce((sum, c) => sum + linksOf(c).filter((p) => !isCore(w, p)).length, 0);
    assert.ok(total < 48, `not every replicant got its two links (some were refused as full): ${total} links`);
    assert.ok(w.converged(), 'one cluster, every replicant following it');
  });

  it('the spread of replicants over cores is even (rendezvous hashing): 3 cores, 60 replicants', async () => {
    const w = world(60, 6);
    await form(w);
    await w.run(8000);
    const carried = cores(w).map((c) => linksOf(c).filter((p) => !isCore(w, p)).length);
    // 60 x 2 links over 3 cores: 40 each on average.
    assert.equal(carried.reduce((x, y) => x + y, 0), 120, `every replicant links to two cores: ${carried.join(', ')}`);
    for (const n of carried) assert.ok(n >= 30 && n <= 50, `each core carries 30-50 replicants: ${carried.join(', ')}`);
  });

  it('a replicant back after a gap catches up by the buckets that changed, not a full copy; a delete made meanwhile reaches it before its tombstone is collected', async () => {
    const tuning: Tuning = { ...DEFAULT_TUNING, maintenance: { ...DEFAULT_TUNING.maintenance, tombstoneMinAgeMs: 1000 } };
    const w = world(1, 7, tuning);
    await form(w);
    const [core] = cores(w);
    const [r] = replicants(w);
    for (let i = 0; i < 300; i++) await put(core, `key-${i}`, `value ${i} `.repeat(10));
    await put(core, 'doomed', 'soon deleted');
    await w.run(3000);
    assert.equal(r.node!.data.get('key-299'), `value 299 `.repeat(10));
    const fullBytes = JSON.stringify(r.node!.data.list()).length;
    r.crash();
    await w.run(4000);
    await put(core, 'key-7', 'changed while away');
    await put(core, 'new-key', 'written while away');
    await settled(w, core.call((n) => n.data.del('doomed')));
    await w.run(3000);
    assert.equal(core.node!.replica.data.get('doomed')?.value, null, 'the cores keep the tombstone while a replicant has not got it');
    r.start();
    const caught = await w.runUntil(() => w.converged() && r.node!.data.get('new-key') === 'written while away', 10_000);
    assert.ok(caught !== undefined, 'the replicant caught up');
    assert.equal(r.node!.data.get('key-7'), 'changed while away');
    assert.equal(r.node!.data.get('doomed'), undefined, 'a key deleted while away is gone from the replicant too');
    assert.deepEqual(r.node!.data.list(), core.node!.data.list());
    const syncBytes = r.node!.stats.trafficIn.get('sync')?.bytes ?? 0;
    assert.ok(syncBytes > 0 && syncBytes < fullBytes / 4, `sync brought ${syncBytes} bytes; the data is ${fullBytes}`);
  });

  it('a replicant back with an empty data dir has the whole copy at its first sync, not at the next anti-entropy', async () => {
    const w = world(2, 8);
    await form(w);
    const [core] = cores(w);
    for (let i = 0; i < 50; i++) await put(core, `key-${i}`, `value ${i}`);
    await w.run(500);
    const [r] = replicants(w);
    r.crash();
    r.disk.wipe();
    await w.run(4000);
    r.start();
    const took = await w.runUntil(() => r.node!.ready().ready && r.node!.data.get('key-49') === 'value 49', 5000, 10);
    assert.ok(took !== undefined && took < 3000, `the copy arrived with the first links (${took} ms)`);
    assert.deepEqual(r.node!.data.list(), core.node!.data.list());
  });

  it('a replicant cut off from every core shows them stopped, and its word spreads to no core when it is back', async () => {
    const w = world(2, 9);
    await form(w);
    await w.run(6000);
    const [r] = replicants(w);
    w.net.partition([[r.address], w.nodes.filter((n) => n !== r).map((n) => n.address)]);
    const alone = await w.runUntil(() => cores(w).every((c) => r.node!.status().stopped_nodes.includes(c.name)), 30_000, 100);
    assert.ok(alone !== undefined, 'the cut-off replicant shows every core stopped');
    const before = w.lines.length;
    w.net.healPartition();
    const back = await w.runUntil(() => w.converged(), 30_000);
    assert.ok(back !== undefined, 'one cluster again');
    const coreNames = cores(w).map((c) => c.name);
    const falseClaims = w.lines.slice(before).filter((l) => coreNames.includes(l.node) && l.peer && coreNames.includes(l.peer) && / is stopped: /.test(l.msg));
    assert.deepEqual(falseClaims.map((l) => `${l.node}: ${l.msg}`), [], 'no core was shown stopped to another core');
  });

  it('20 seeds of every fault with 3 cores and replicants hold every invariant', async () => {
    const failed: string[] = [];
    for (let seed = 3000; seed < 3020; seed++) {
      const nodes = 5 + (seed % 8);
      const r = await simulate(makeScenario({ seed, nodes }), { replicants: nodes - 3, seeds: 3 });
      if (r.violations.length) failed.push(`seed ${seed} (${nodes} nodes): ${r.violations[0]}; replay: npm run sim -- --seed ${seed} --nodes ${nodes} --replicants ${nodes - 3} --verbose`);
    }
    assert.deepEqual(failed, []);
  });
});
