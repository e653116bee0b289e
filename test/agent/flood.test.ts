import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Flood } from '../../node-agent/src/membership/flood';
import { neighbours } from '../../node-agent/src/membership/overlay';
import type { GossipBody } from '../../node-agent/src/transport/messages';
import type { Connection } from '../../node-agent/src/transport/connection';

/** A link as far as a cast needs one: its peer's name, and the frames cast on it. */
function fakeLink(peerName: string, sent: { to: string; body: GossipBody }[]): Connection {
  return { peerName, cast: (_op: string, body: GossipBody) => sent.push({ to: peerName, body }) } as unknown as Connection;
}

/**
 * Spreads one piece of news from `origin` over the overlay links of `names` the way members pass on
 * a oneway cast (membership/cluster.ts `relay`): a member that sees it for the first time passes it
 * on to its other links; one that saw it drops it. Frames are delivered in a shuffled order, as
 * links of unequal speed would. Returns who got the news and how many frames it took.
 */
function spread(names: string[], origin: string, seed: number): { reached: Set<string>; frames: number } {
  const floods = new Map(names.map((n) => [n, new Flood()]));
  const links = new Map(names.map((n) => [n, [...neighbours(n, names, () => true)]]));
  const queue: { from: string; to: string; body: GossipBody }[] = [];
  const castFrom = (from: string, body: GossipBody, except?: string) => {
    const out: { to: string; body: GossipBody }[] = [];
    floods.get(from)!.cast(links.get(from)!.filter((p) => p !== except).map((p) => fakeLink(p, out)), body, from);
    for (const f of out) queue.push({ from, ...f });
  };
  let rnd = seed;
  const random = () => ((rnd = (rnd * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const body: GossipBody = { cluster_id: 'c', id: floods.get(origin)!.newId(), budget_ms: 1000, oneway: true, members: [] };
  const reached = new Set([origin]);
  castFrom(origin, body);
  let frames = 0;
  while (queue.length) {
    const [f] = queue.splice(Math.floor(random() * queue.length), 1);
    frames++;
    const flood = floods.get(f.to)!;
    if (flood.seenBefore(f.body.id)) continue;
    flood.markSeen(f.body.id);
    reached.add(f.to);
    castFrom(f.to, f.body, f.from);
  }
  return { reached, frames };
}

describe('news cast over the member links (membership/flood.ts)', () => {
  it('goes only on links to members it was not already sent to, and names them for the next hop', () => {
    const out: { to: string; body: GossipBody }[] = [];
    const body: GossipBody = { cluster_id: 'c', id: 'x', budget_ms: 1000, oneway: true, sent: ['a', 'b'] };
    new Flood().cast(['b', 'c', 'd'].map((p) => fakeLink(p, out)), body, 'self');
    assert.deepEqual(out.map((f) => f.to), ['c', 'd'], 'b had been sent it already');
    for (const f of out) assert.deepEqual(f.body.sent, ['a', 'b', 'self', 'c', 'd']);
  });

  it('stops growing the list of members sent to at its cap rather than lengthening every frame', () => {
    const out: { to: string; body: GossipBody }[] = [];
    const many = Array.from({ length: 200 }, (_, i) => `m${i}`);
    new Flood().cast(many.map((p) => fakeLink(p, out)), { cluster_id: 'c', id: 'x', budget_ms: 1000, oneway: true }, 'self');
    assert.equal(out.length, 200, 'every link still gets the news');
    assert.ok(out[0].body.sent!.length < 100, `${out[0].body.sent!.length} names carried`);
  });

  for (const n of [30, 100]) {
    it(`reaches every one of ${n} members, with far fewer frames than one per link direction`, () => {
      const names = Array.from({ length: n }, (_, i) => `muster@10.0.${Math.floor(i / 200)}.${(i % 200) + 10}`);
      const directions = names.reduce((t, m) => t + neighbours(m, names, () => true).size, 0);
      for (const [k, origin] of [names[0], names[Math.floor(n / 2)], names[n - 1]].entries()) {
        const { reached, frames } = spread(names, origin, k + 1);
        assert.equal(reached.size, n, `news from ${origin} reached ${reached.size} of ${n}`);
        // Flooding every link sends news once in each direction of every link but the first ones.
        assert.ok(frames < 0.75 * directions, `${frames} frames for ${directions} link directions`);
      }
    });
  }
});
