import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_TUNING, type Tuning } from '../../node-agent/src/tuning';
import { World } from './world';

/**
 * A member cut off by a partition comes back through fresh dials (tuning.links.healDialMs), not at
 * TCP's next retransmission on its old link, which the simulator's network now models (network.ts,
 * TCP_TIMERS): the same cut with the heal dials and without them.
 */
async function cutAndHeal(tuning: Tuning, seed: number): Promise<number> {
  const w = new World({ seed, nodes: 5, seeds: 5, tuning });
  for (const n of w.nodes) w.sched.after(w.random.fraction() * 1000, () => n.start());
  assert.ok((await w.runUntil(() => w.converged(), 20_000)) !== undefined, 'formed');
  await w.run(6000);
  const cut = w.nodes[4];
  const others = w.nodes.slice(0, 4);
  const seesCut = () => others.every((n) => n.node!.status().running_nodes.includes(cut.name));
  w.net.partition([others.map((n) => n.address), [cut.address]]);
  assert.ok((await w.runUntil(() => others.every((n) => !n.node!.status().running_nodes.includes(cut.name)), 10_000, 10)) !== undefined, 'the cut member shows stopped');
  // The cut lasts as long as the bench's does: until the others see it, and a moment more.
  await w.run(300);
  w.net.healPartition();
  const healedMs = await w.runUntil(seesCut, 10_000, 5);
  assert.ok(healedMs !== undefined, 'every member shows the cut member running again');
  return healedMs;
}

describe('partition heal', () => {
  const noHealDials: Tuning = { ...DEFAULT_TUNING, links: { ...DEFAULT_TUNING.links, healDialForMs: 0 } };

  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: a member cut off comes back within a heal dial's interval; without heal dials, at TCP's retransmission`, async () => {
      const fast = await cutAndHeal(DEFAULT_TUNING, seed);
      const slow = await cutAndHeal(noHealDials, seed);
      // A SYN every 200 ms per dialer, the first one after the heal connects: within one interval
      // (its jitter's top, 250 ms), the handshake, sync and gossip on a LAN adding a few ms.
      assert.ok(fast <= DEFAULT_TUNING.links.healDialMs * DEFAULT_TUNING.links.jitter[1] + 50, `with heal dials: ${fast} ms`);
      // Without them the old links carry it back at their next retransmission, later by far.
      assert.ok(slow >= fast + 100, `without heal dials: ${slow} ms, against ${fast} ms with them`);
    });
  }
});
