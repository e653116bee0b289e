import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { neighbours, STEPS } from '../../node-agent/src/membership/overlay';

const names = (n: number) => Array.from({ length: n }, (_, i) => `muster@10.1.${Math.floor(i / 200)}.${(i % 200) + 10}`);
const allUp = () => true;

/** Every member's link set in a cluster, as each computes it from the same view. */
function links(members: string[], notDown: (m: string) => boolean = allUp): Map<string, Set<string>> {
  return new Map(members.map((m) => [m, neighbours(m, members, notDown)]));
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

  it('in a large cluster each member keeps a few links, both ends want each one, and all members are connected', () => {
    for (const n of [8, 30, 100]) {
      const ms = names(n);
      const l = links(ms);
      for (const [m, set] of l) {
        assert.equal(set.size, 2 * STEPS, `${m} in a cluster of ${n}`);
        for (const p of set) assert.ok(l.get(p)!.has(m), `${m} wants ${p}, but ${p} does not want ${m}`);
      }
      assert.equal(reachable(ms[0], l, allUp).size, n);
    }
  });

  it('a joiner adds at most 2 x STEPS links and closes few', () => {
    const ms = names(30);
    const before = links(ms.filter((_, i) => i !== 17));
    const after = links(ms);
    let added = 0;
    let removed = 0;
    for (const [m, set] of before) {
      for (const p of after.get(m)!) if (!set.has(p)) added++;
      for (const p of set) if (!after.get(m)!.has(p)) removed++;
    }
    assert.equal(added, 2 * STEPS, 'new links at the other members: to the joiner only');
    assert.ok(removed <= 2 * STEPS, `${removed} links closed`);
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
});
