import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_TUNING } from '../../node-agent/src/tuning';
import { makeScenario, type FaultKind } from './scenario';
import { simulate } from './simulate';
import { World } from './world';
import { MAX_NAME_PART } from '../../node-agent/src/config/node-name';

/**
 * The simulator on the real agent code: a seed replays exactly, the seeds that found each fixed
 * window hold their invariants now, and the checker does catch a broken guarantee.
 */
const run = (seed: number, nodes: number, kinds?: FaultKind[], faults?: number, tuning = DEFAULT_TUNING) =>
  simulate(makeScenario({ seed, nodes, kinds, faults }), { tuning });

describe('simulator', () => {
  it('replays a seed exactly: same events, same outcome', async () => {
    const a = await run(7, 12);
    const b = await run(7, 12);
    assert.equal(a.events, b.events);
    assert.equal(a.fingerprint, b.fingerprint);
    assert.deepEqual(a.violations, []);
  });

  // Each seed failed on the code before the change named (checked on that code: the seam with the
  // old probe placement and link judgements; docs/decisions/0006) and holds since.
  const found: Array<[string, number, number, FaultKind[]]> = [
    ['a frozen member is found within the bound (probes placed by target)', 1, 10, ['freeze']],
    ['a member frozen right after it joined is found within the bound', 18, 7, ['freeze-on-join']],
    ['... in a larger cluster', 26, 15, ['freeze-on-join']],
    ['... and another', 44, 17, ['freeze-on-join']],
    ['... found within the bound, and no member claimed down by the thawed one', 15, 20, ['freeze-on-join']],
    ['a member thawed from a stop claims no peer down for links they gave up on', 40, 13, ['freeze-on-join']],
  ];
  for (const [name, seed, nodes, kinds] of found) {
    it(`seed ${seed}, ${nodes} nodes, ${kinds.join(',')}: ${name}`, async () => {
      const r = await run(seed, nodes, kinds, 1);
      assert.deepEqual(r.violations, [], `replay: npm run sim -- --seed ${seed} --nodes ${nodes} --kinds ${kinds.join(',')} --faults 1 --verbose`);
      assert.ok(r.faults.length === 1 && r.writesAcked > 50, `the seed ran its fault and writes: ${r.faults.join('; ')}, ${r.writesAcked} writes`);
      // The checks that matter ran: a detection check, and the member was seen stopped.
      assert.ok(r.detectionChecks >= 1 && r.downClaims >= 1, `detection checks ${r.detectionChecks}, down claims read ${r.downClaims}`);
    });
  }

  // Anti-entropy (docs/decisions/0007): the same seed with it and without it.
  const noAntiEntropy = { ...DEFAULT_TUNING, sync: { ...DEFAULT_TUNING.sync, antiEntropyIntervalMs: 3_600_000 } };
  for (const [seed, nodes, member] of [
    [1, 10, 'm09@10.0.0.9'],
    [4, 5, 'm3@10.0.0.3'],
  ] as const) {
    it(`seed ${seed}, ${nodes} nodes, lost-gossip: the writes a member missed on links that stayed up reach it; without anti-entropy they never do`, async () => {
      const off = await run(seed, nodes, ['lost-gossip'], 1, noAntiEntropy);
      assert.ok(off.violations.some((v) => v.startsWith(`writes: ${member} lacks`)), `without anti-entropy: ${off.violations.join('\n')}`);
      const on = await run(seed, nodes, ['lost-gossip'], 1);
      assert.deepEqual(on.violations, []);
      assert.ok(on.healedMs !== undefined && on.healedMs <= 18_700 + 500, `repaired within one anti-entropy interval (18.7 s at most): ${on.healedMs} ms`);
    });
  }

  it('30 seeds of every fault hold every invariant', async () => {
    const failed: string[] = [];
    for (let seed = 1000; seed < 1030; seed++) {
      const nodes = 3 + (seed % 10);
      const r = await run(seed, nodes);
      if (r.violations.length) failed.push(`seed ${seed} (${nodes} nodes): ${r.violations[0]}; replay: npm run sim -- --seed ${seed} --nodes ${nodes} --verbose`);
    }
    assert.deepEqual(failed, []);
  });
});

describe('a cluster whose member list outgrows the handshake frame limit', () => {
  // 16 KiB before the cookie is proved: 110 members with 64-character name parts list about
  // 17 KB. The welcome that answered a probe carried the list and the prober dropped the
  // connection, so no node could join once the cluster was that large (N = 500 never formed).
  it('still admits nodes: 110 nodes with the longest name parts form one cluster', async () => {
    const w = new World({ seed: 3, nodes: 110, namePrefix: 'n'.repeat(MAX_NAME_PART - 3) });
    for (const node of w.nodes) w.sched.after(w.random.fraction() * 2000, () => node.start());
    await w.run(2000);
    const formed = await w.runUntil(() => w.converged() && w.running.length === 110, 60_000, 100);
    const refused = w.lines.filter((l) => /over the limit/.test(l.msg)).length;
    assert.ok(formed !== undefined, `one cluster of 110 within 60 s; ${refused} connections dropped for frame size`);
    assert.equal(refused, 0);
  });
});

describe('a member restarted from a state saved before the joins it admitted', () => {
  // A member saves the joins it admits soon, not before answering (membership/joins.ts): the
  // joiners hold the list. One that crashes in that window comes back in the same cluster knowing
  // none of them, and closed their links as non-members' before the first sync could list them:
  // it stayed alone for good while every other member showed it running.
  it('links again with the members it does not know, takes the member list from the first sync, and the cluster is one', async () => {
    // Seed 4 of 3 cores and 5 replicants found it: the first core crashed as the cluster formed.
    const w = new World({ seed: 4, nodes: 8, seeds: 3, replicants: 5 });
    for (const n of w.nodes) w.sched.after(w.random.fraction() * 2000, () => n.start());
    await w.run(2000);
    assert.ok((await w.runUntil(() => w.converged(), 20_000)) !== undefined, 'one cluster');
    const first = w.nodes[0];
    first.crash();
    assert.equal(first.disk.read(first.cfg.node.data_dir)?.members.length, 1, 'its disk holds itself only: the window this test is about');
    await w.run(5000);
    first.start();
    const back = await w.runUntil(() => w.converged(), 10_000);
    assert.ok(back !== undefined, `one cluster again: ${first.name} shows running ${first.node!.status().running_nodes.join(', ')}`);
    assert.equal(first.node!.memberNames().length, 8);
  });
});
