import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { neighbours, shortcut, SHORTCUTS, STEPS } from '../../node-agent/src/membership/overlay';

const names = (n: number) => Array.from({ length: n }, (_, i) => `muster@10.1.${Math.floor(i / 200)}.${(i % 200) + 10}`);
const allUp = () => true;

/** Every member's link set in a cluster, as each computes it from the same view. */
function links(members: string[], notDown: (m: string) => boolean = allUp): Map<string, Set<string>> {
  return new Map(members.map((m) => [m, neighbours(m, members, notDown)]));
}

/** The most hops between two members over these links. */
function diameter(l: Map<string, Set<string>>): number {
  let most = 0;
  for (const from of l.keys()) {
    const hops = new Map([[from, 0]]);
    const todo = [from];
    while (todo.length) {
      const at = todo.shift()!;
      for (const n of l.get(at)!) if (!hops.has(n)) hops.set(n, hops.get(at)! + 1), todo.push(n);
    }
    most = Math.max(most, ...hops.values());
  }
  return most;
}

/** Members reachable from `from` over links between members that are not down. */
function reachable(from: string, l: Map<string, Set<string>>, notDown: (m: string) => boolean): Set<string> {
  const seen = new Set([from]);
  const todo = [from];
  while (todo.length) for (const n of l.get(todo.pop()!)!) if (notDown(n) && !seen.has(n)) seen.add(n), todo.push(n);
  return seen;
}

describe('link overlay', () => {
  it(`up to ${2 * STEPS + 1} members it is the full mesh`, () => {
    const ms = names(2 * STEPS + 1);
    for (const [m, set] of links(ms)) assert.deepEqual([...set].sort(), ms.filter((x) => x !== m));
  });

  it('in a large cluster each member keeps its ring neighbours and a few shortcuts, both ends want each link, and all members are connected', () => {
    for (const n of [8, 30, 100, 200]) {
      const ms = names(n).sort(); // the ring is in name order
      const l = links(ms);
      let total = 0;
      for (const [m, set] of l) {
        const i = ms.indexOf(m);
        for (let k = 1; k <= STEPS; k++) for (const j of [i + k, i - k]) assert.ok(set.has(ms[(j + n) % n]), `${m} keeps its ring neighbour ${ms[(j + n) % n]}`);
        for (const p of set) assert.ok(l.get(p)!.has(m), `${m} wants ${p}, but ${p} does not want ${m}`);
        total += set.size;
      }
      assert.equal(reachable(ms[0], l, allUp).size, n);
      // About SHORTCUTS links per member beyond the ring: far fewer than the N - 1 of a full mesh.
      assert.ok(total / n <= 2 * STEPS + SHORTCUTS + 1, `${(total / n).toFixed(1)} links per member at N = ${n}`);
    }
  });

  it('news crosses a cluster of 30 in at most 4 hops, of 100 in 5, of 200 in 6 (a ring alone: 5, 17, 34)', () => {
    for (const [n, most, ringAlone] of [[30, 4, 5], [100, 5, 17], [200, 6, 34]]) {
      const ms = names(n).sort();
      const ringOnly = new Map(ms.map((m, i) => [m, new Set([1, 2, 3, -1, -2, -3].map((k) => ms[(i + k + n) % n]))]));
      assert.equal(diameter(ringOnly), ringAlone);
      const d = diameter(links(ms));
      assert.ok(d <= most, `${d} hops across ${n} members`);
    }
  });

  it('a shortcut is the same seen from either end, and is kept away from members known to be down', () => {
    const ms = names(100);
    for (const a of ms.slice(0, 20)) for (const b of ms) assert.equal(shortcut(a, b, 100), shortcut(b, a, 100), `${a} / ${b}`);
    const [a, b] = ms.flatMap((x, i) => ms.slice(i + 4).filter((y) => shortcut(x, y, 100)).map((y) => [x, y]))[0];
    assert.ok(neighbours(a, ms, allUp).has(b), `${a} links to ${b} by a shortcut`);
    assert.ok(!neighbours(a, ms, (m) => m !== b).has(b), `${a} does not dial ${b} while it is known to be down`);
  });

  it('a joiner adds links to itself only and closes few', () => {
    const ms = names(30);
    const before = links(ms.filter((_, i) => i !== 17));
    const after = links(ms);
    let removed = 0;
    for (const [m, set] of before) {
      for (const p of after.get(m)!) if (!set.has(p)) assert.equal(p, ms[17], `${m} gains a link to ${p}, not the joiner`);
      for (const p of set) if (!after.get(m)!.has(p)) removed++;
    }
    // Each link is counted at both ends: the ring closes up to STEPS links around the joiner, and a
    // shortcut or two falls below the lower threshold of a larger cluster.
    assert.ok(removed <= 2 * (STEPS + SHORTCUTS), `${removed / 2} links closed`);
  });

  it('members known to be down are walked past but kept, so the rest stays connected and their return is seen', () => {
    const ms = names(40);
    // Three neighbours in a row down: the ring still closes over them.
    const down = new Set([ms[10], ms[11], ms[12], ms[13]]);
    const notDown = (m: string) => !down.has(m);
    const l = links(ms, notDown);
    assert.equal(reachable(ms[0], l, notDown).size, ms.length - down.size);
    const n9 = l.get(ms[9])!;
    for (const d of down) assert.ok(n9.has(d), `${ms[9]} keeps ${d}`);
    for (const m of [ms[14], ms[15], ms[16]]) assert.ok(n9.has(m), `${ms[9]} links to ${m} across the gap`);
  });

  it('with members down anywhere, both ends of every link among members up still want it', () => {
    // Each node works out its links from its own walks alone; this holds only if the walks agree.
    let rng = 7;
    const rand = () => ((rng = Math.imul(rng, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (let trial = 0; trial < 200; trial++) {
      const ms = names(10 + Math.floor(rand() * 90)).sort();
      const down = new Set(ms.filter(() => rand() < 0.3));
      const notDown = (m: string) => !down.has(m);
      const l = links(ms, notDown);
      for (const [m, set] of l) {
        if (down.has(m)) continue;
        for (const p of set) if (!down.has(p)) assert.ok(l.get(p)!.has(m), `${m} wants ${p}, but ${p} does not want ${m} (down: ${[...down].join(', ')})`);
      }
    }
  });
});
