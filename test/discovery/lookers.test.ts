import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { looksAt } from '../../node-agent/src/membership/autocluster';

const names = (n: number, subnet: string) => Array.from({ length: n }, (_, i) => `muster@${subnet}.${i + 2}`);

describe('who in a cluster looks at a node found outside it', () => {
  it('two of the running members look at each found node, the same two on every member', () => {
    const running = names(100, '10.9.0');
    for (const found of names(60, '10.9.1')) {
      const lookers = running.filter((m) => looksAt(m, found, running));
      assert.equal(lookers.length, 2, `${found} is looked at by ${lookers.join(', ')}`);
    }
  });

  it('the looking is spread over the members, and moves little when a member joins', () => {
    const running = names(30, '10.9.0');
    const found = names(300, '10.9.1');
    const load = running.map((m) => found.filter((f) => looksAt(m, f, running)).length);
    assert.ok(Math.max(...load) <= 60, `no member looks at far more than its share (2 x 300 / 30 = 20): ${load.join(' ')}`);
    const more = [...running, 'muster@10.9.0.200'];
    const moved = found.filter((f) => running.some((m) => looksAt(m, f, running) !== looksAt(m, f, more))).length;
    assert.ok(moved < 60, `${moved} of 300 found nodes change lookers when one member joins`);
  });

  it('in a cluster of two every member looks at every found node', () => {
    const running = names(2, '10.9.0');
    for (const found of names(10, '10.9.1')) assert.ok(running.every((m) => looksAt(m, found, running)));
  });
});
