import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { probeTarget } from '../../node-agent/src/membership/prober';

describe('probe schedule', () => {
  const names = Array.from({ length: 7 }, (_, i) => `muster@10.0.0.${i + 2}`);

  it('in every slot each member is probed by exactly one other member', () => {
    for (let slot = 0; slot < 20; slot++) {
      const targets = names.map((self) => probeTarget(self, names.filter((n) => n !== self), slot));
      assert.deepEqual([...targets].sort(), [...names].sort(), `slot ${slot}`);
      targets.forEach((t, i) => assert.notEqual(t, names[i], `slot ${slot}: ${names[i]} probes itself`));
    }
  });

  it('a node probes every other member once per n-1 slots', () => {
    const self = names[3];
    const seen = Array.from({ length: names.length - 1 }, (_, k) => probeTarget(self, names, 100 + k));
    assert.deepEqual([...seen].sort(), names.filter((n) => n !== self).sort());
  });

  it('a node alone probes nobody', () => {
    assert.equal(probeTarget(names[0], [], 5), undefined);
    assert.equal(probeTarget(names[0], [names[0]], 5), undefined);
  });
});
