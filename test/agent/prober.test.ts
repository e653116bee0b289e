import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { probeTarget } from '../../node-agent/src/membership/prober';
import { neighbours, STEPS } from '../../node-agent/src/membership/overlay';

describe('probe schedule', () => {
  const names = Array.from({ length: 12 }, (_, i) => `muster@10.0.0.${i + 10}`);

  it('in every slot each member is probed by exactly one other member', () => {
    for (const n of [2, 3, 4, 7, 12]) {
      const ring = names.slice(0, n);
      for (let slot = 0; slot < 20; slot++) {
        const targets = ring.map((self) => probeTarget(self, ring.filter((m) => m !== self), slot));
        assert.deepEqual([...targets].sort(), [...ring].sort(), `n ${n} slot ${slot}`);
        targets.forEach((t, i) => assert.notEqual(t, ring[i], `n ${n} slot ${slot}: ${ring[i]} probes itself`));
      }
    }
  });

  it('a node probes its next STEPS members in turn, all of them neighbours it keeps links to', () => {
    const self = names[3];
    const seen = new Set(Array.from({ length: 2 * STEPS }, (_, k) => probeTarget(self, names, 100 + k)));
    assert.deepEqual([...seen].sort(), names.slice(4, 4 + STEPS));
    const linked = neighbours(self, names, () => true);
    for (const t of seen) assert.ok(linked.has(t!), `${t} is probed but not linked`);
  });

  it('in a small cluster a node probes every other member', () => {
    const ring = names.slice(0, 3);
    const seen = new Set(Array.from({ length: 4 }, (_, k) => probeTarget(ring[0], ring, k)));
    assert.deepEqual([...seen].sort(), ring.slice(1));
  });

  it('a node alone probes nobody', () => {
    assert.equal(probeTarget(names[0], [], 5), undefined);
    assert.equal(probeTarget(names[0], [names[0]], 5), undefined);
  });
});
