import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkSyncEntries, sameAlive, sameMemberEntry, type KnownEntries } from '../../node-agent/src/transport/messages';
import type { Alive, MemberEntry } from '../../node-agent/src/domain/state';

const held: MemberEntry[] = Array.from({ length: 100 }, (_, i) => ({ key: `muster@10.0.0.${i + 10}`, state: 'member', ts: { p: 1795709377764 + i, l: 0, n: 'muster@10.0.0.10' } }));
const heldAlive: Alive[] = held.map((m) => ({ node: m.key, boot: 'b0', inc: 7, up: true }));
const known: KnownEntries = {
  member: (e) => held.some((h) => sameMemberEntry(h, e)),
  alive: (r) => heldAlive.some((h) => sameAlive(h, r)),
};
/** As the entries travel: JSON, so nothing is shared with what the receiver holds. */
const wire = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

describe('sync entries (transport/messages.ts checkSyncEntries)', () => {
  it('leaves out the entries the receiver holds and checks and keeps the rest', () => {
    const news: MemberEntry = { key: 'muster@10.0.1.1', state: 'member', ts: { p: 1795709377999, l: 0, n: 'muster@10.0.0.10' } };
    const newer: Alive = { ...heldAlive[3], inc: 8 };
    const b = checkSyncEntries({ cluster_id: 'c', digest: 'd', members: wire([...held, news]), alive: wire([...heldAlive, newer]), data: [] }, known);
    assert.ok(b);
    assert.deepEqual(b.members, [news]);
    assert.deepEqual(b.alive, [newer]);
    assert.deepEqual(b.data, []);
  });

  it('an entry that differs from a held one in any field is checked, and refused when malformed', () => {
    const bad = [
      { ...held[0], ts: { ...held[0].ts, p: 'soon' } },
      { ...held[0], state: 'gone' },
      { ...held[0], ts: null },
      { ...held[0], key: 42 },
    ];
    for (const e of bad) assert.equal(checkSyncEntries({ cluster_id: 'c', digest: 'd', members: wire([...held, e]) }, known), undefined, JSON.stringify(e));
    const badAlive = [{ ...heldAlive[0], inc: -1 }, { ...heldAlive[0], up: 'yes' }, 'not a record', null];
    for (const r of badAlive) assert.equal(checkSyncEntries({ cluster_id: 'c', digest: 'd', alive: wire([...heldAlive, r]) }, known), undefined, JSON.stringify(r));
    const removed = { ...held[1], state: 'removed', reason: 'leave' };
    assert.deepEqual(checkSyncEntries({ cluster_id: 'c', digest: 'd', members: wire([removed]) }, known)?.members, [removed]);
  });

  it('without `known` (a sync from another cluster) every entry is checked and kept', () => {
    const b = checkSyncEntries({ cluster_id: 'c', digest: 'd', members: wire(held), alive: wire(heldAlive), want: true });
    assert.equal(b?.members?.length, 100);
    assert.equal(b?.alive?.length, 100);
    assert.equal(b?.want, true);
    assert.equal(checkSyncEntries({ cluster_id: 'c', digest: 'd', members: [...wire(held), { key: 'x' }] }), undefined);
  });
});
