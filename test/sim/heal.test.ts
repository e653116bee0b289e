import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_TUNING, type Tuning } from '../../node-agent/src/tuning';
import { World, type SimNode } from './world';

/**
 * Heal dials (membership/peers.ts, `startHealing`): a member suspended for unanswered probes is
 * dialled afresh while its path stays cut, and comes back through the first dial after the heal,
 * not at TCP's next retransmission on its kept link, which the simulator's network models
 * (network.ts, TCP_TIMERS). A connect that is answered at all ends them.
 */
async function formed(tuning: Tuning, seed: number): Promise<World> {
  const w = new World({ seed, nodes: 5, seeds: 5, tuning });
  for (const n of w.nodes) w.sched.after(w.random.fraction() * 1000, () => n.start());
  assert.ok((await w.runUntil(() => w.converged(), 20_000)) !== undefined, 'formed');
  // Probes answered on every link (their round trips set the heal dials' connect time).
  await w.run(6000);
  return w;
}

const shows = (n: SimNode, who: SimNode) => n.node!.status().running_nodes.includes(who.name);

/** Cuts the last member off until the others show it stopped, and a moment more. */
async function cutOff(w: World): Promise<{ cut: SimNode; others: SimNode[] }> {
  const cut = w.nodes[4];
  const others = w.nodes.slice(0, 4);
  w.net.partition([others.map((n) => n.address), [cut.address]]);
  assert.ok((await w.runUntil(() => others.every((n) => !shows(n, cut)), 10_000, 10)) !== undefined, 'the cut member shows stopped');
  // As in the bench: the cut ends soon after the others see it.
  await w.run(300);
  return { cut, others };
}

async function healTime(tuning: Tuning, seed: number): Promise<number> {
  const w = await formed(tuning, seed);
  const { cut, others } = await cutOff(w);
  w.net.healPartition();
  const ms = await w.runUntil(() => others.every((n) => shows(n, cut)), 10_000, 5);
  assert.ok(ms !== undefined, 'every member shows the cut member running again');
  // The members that suspended it (its prober, those asked to check it) end theirs at their own link.
  const ended = await w.runUntil(() => others.every((n) => !n.node!.peers.isHealing(cut.name)), 2000, 5);
  assert.ok(ended !== undefined && ended <= 300, `heal dials ended ${ended} ms after it showed running`);
  return ms;
}

describe('partition heal', () => {
  const noHealDials: Tuning = { ...DEFAULT_TUNING, links: { ...DEFAULT_TUNING.links, healDialForMs: 0 } };

  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: a member cut off comes back within a heal dial's interval; without heal dials, at TCP's retransmission`, async () => {
      const fast = await healTime(DEFAULT_TUNING, seed);
      const slow = await healTime(noHealDials, seed);
      // A SYN every 200 ms per dialer (jittered, at most 250), and the first one after the heal
      // connects; the handshake, sync and gossip on a LAN add a few ms.
      assert.ok(fast <= DEFAULT_TUNING.links.healDialMs * DEFAULT_TUNING.links.jitter[1] + 50, `with heal dials: ${fast} ms`);
      // Without them the kept links carry it back at their next retransmission, later by far.
      assert.ok(slow >= fast + 100, `without heal dials: ${slow} ms, against ${fast} ms with them`);
    });
  }

  it('the members that suspended a cut member dial it afresh while it is cut; none with heal dials turned off', async () => {
    const dials: number[] = [];
    for (const [tuning, want] of [[DEFAULT_TUNING, true], [noHealDials, false]] as const) {
      const w = await formed(tuning, 4);
      const { cut, others } = await cutOff(w);
      const before = w.net.connectsTo.get(cut.address) ?? 0;
      await w.run(2000);
      dials.push((w.net.connectsTo.get(cut.address) ?? 0) - before);
      // Those that heard of the loss by gossip keep their links as they were.
      assert.equal(others.some((n) => n.node!.peers.isHealing(cut.name)), want, `healing with healDialForMs = ${tuning.links.healDialForMs}`);
    }
    // Each member that suspended it, a dial every 200-250 ms; without, the backoff's one or two.
    assert.ok(dials[0] >= 2 * dials[1] + 4, `dials to the cut member in 2 s: ${dials[0]} with heal dials, ${dials[1]} without`);
  });

  it('a member that stalled lately makes no heal dials: its suspicion may be its own fault', async () => {
    const w = await formed(DEFAULT_TUNING, 7);
    const cut = w.nodes[4];
    const others = w.nodes.slice(0, 4);
    // Each noted a stall of its own just now (as a starved or thawed process does): its probe
    // timeouts stretch (1 s + 2 x 300 ms), and the suspension comes within the 5 s it counts.
    for (const n of others) n.node!.health.noteLateness(300, w.sched.now);
    w.net.partition([others.map((n) => n.address), [cut.address]]);
    let healing = false;
    const seen = await w.runUntil(() => {
      healing ||= others.some((n) => n.node!.peers.isHealing(cut.name));
      return others.every((n) => !shows(n, cut));
    }, 10_000, 10);
    assert.ok(seen !== undefined && seen < DEFAULT_TUNING.health.windowMs, `the cut member shows stopped, within the stall's window (${seen} ms)`);
    assert.equal(healing, false, 'no member dialled it afresh');
  });

  it('a frozen member (its kernel still accepts): the heal dials end at the first connect, the kept link and the backoff serve it', async () => {
    const w = await formed(DEFAULT_TUNING, 5);
    const frozen = w.nodes[4];
    const others = w.nodes.slice(0, 4);
    w.sched.freeze(frozen.process!);
    assert.ok((await w.runUntil(() => others.every((n) => !shows(n, frozen)), 10_000, 10)) !== undefined, 'the frozen member shows stopped');
    assert.ok(others.some((n) => n.node!.peers.isHealing(frozen.name)), 'its suspenders dial it afresh at first');
    // Its first heal dial connects one interval later and its handshake times out (2 x probe_timeout).
    const ended = await w.runUntil(() => others.every((n) => !n.node!.peers.isHealing(frozen.name)), 5000, 10);
    assert.ok(ended !== undefined && ended <= 250 + 2 * 1000 * 2, `heal dials ended ${ended} ms after it showed stopped`);
    w.sched.thaw(frozen.process!);
    assert.ok((await w.runUntil(() => w.converged(), 20_000)) !== undefined, 'one cluster again once it is thawed');
  });

  it('a member that crashed while cut off: the first dial after the heal is refused and the heal dials end', async () => {
    const w = await formed(DEFAULT_TUNING, 6);
    const { cut, others } = await cutOff(w);
    cut.crash();
    await w.run(1000);
    assert.ok(others.some((n) => n.node!.peers.isHealing(cut.name)), 'still cut: still dialled afresh');
    w.net.healPartition();
    // The next dial, at most the longest heal dial (its time grew while the cut lasted) later, is refused.
    const ended = await w.runUntil(() => others.every((n) => !n.node!.peers.isHealing(cut.name)), 3000, 5);
    const bound = DEFAULT_TUNING.links.healDialMaxMs * DEFAULT_TUNING.links.jitter[1] + 50;
    assert.ok(ended !== undefined && ended <= bound, `heal dials ended ${ended} ms after the heal`);
    assert.ok(others.every((n) => !shows(n, cut)), 'the crashed member shows stopped');
  });
});
