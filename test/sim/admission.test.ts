import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { World } from './world';

/**
 * Round trips per admission (issue 25): a late node joining a formed cluster, its links 40 ms one
 * way and every other link under 1 ms, so the time from its start to its admission counts its
 * round trips to the member it asks. The count is kept in docs/architecture.md.
 */
const ONE_WAY_MS = 40;

async function lateJoin(nodes: number, seed: number) {
  const w = new World({ seed, nodes });
  const late = w.nodes[nodes - 1];
  for (const n of w.nodes.slice(0, -1)) w.sched.after(w.random.fraction() * 500, () => n.start());
  await w.run(1000);
  assert.ok((await w.runUntil(() => w.converged() && w.running.length === nodes - 1, 20_000)) !== undefined, `the first ${nodes - 1} form one cluster`);
  await w.run(3000);
  for (const n of w.nodes.slice(0, -1)) w.net.slowLink(late.address, n.address, ONE_WAY_MS);
  late.start();
  // Checked every millisecond: the moment it holds the cluster's member list, it was admitted.
  const ms = await w.runUntil(() => (late.node?.memberNames().length ?? 0) === nodes, 5000, 1);
  assert.ok(ms !== undefined, 'the late node is admitted');
  assert.ok((await w.runUntil(() => w.converged(), 20_000)) !== undefined, 'one cluster of all');
  return { w, ms };
}

describe('admission of a late node', () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: takes 3 round trips from its start to its admission (the TCP connect; hello, challenge; auth and join, welcome and answer)`, async () => {
      const { w, ms } = await lateJoin(8, seed);
      const roundTrips = ms / (2 * ONE_WAY_MS);
      // The other links' delays (under 1 ms each way) and the agent's own timers add a little.
      assert.ok(Math.abs(roundTrips - Math.round(roundTrips)) < 0.2, `${ms} ms is a whole number of round trips`);
      assert.equal(Math.round(roundTrips), 3, `${ms} ms from start to admission: ${roundTrips.toFixed(2)} round trips of ${2 * ONE_WAY_MS} ms`);
      assert.deepEqual(w.errors, []);
    });
  }
});
