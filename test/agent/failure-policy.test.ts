import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collectableTombstones, mayAutoclean, wasPartition } from '../../node-agent/src/membership/failure-policy';
import { LocalHealth, stretchedTimeout } from '../../node-agent/src/membership/local-health';

describe('failure policy', () => {
  it('autoclean only on the majority side, or the half holding the smallest name', () => {
    const five = ['a', 'b', 'c', 'd', 'e'];
    assert.equal(mayAutoclean(five, ['a', 'b', 'c']), true);
    assert.equal(mayAutoclean(five, ['d', 'e']), false, 'the minority of a 2|3 split never cleans');
    const four = ['a', 'b', 'c', 'd'];
    assert.equal(mayAutoclean(four, ['a', 'b']), true, 'a 2|2 split: the half with the smallest name cleans');
    assert.equal(mayAutoclean(four, ['c', 'd']), false, '... and only that half');
    assert.equal(mayAutoclean(['a', 'b'], ['a']), true, 'a 2-node cluster: the smaller survivor cleans a dead peer');
    assert.equal(mayAutoclean(['a', 'b'], ['b']), false);
  });
  it('a member back with the same process after a lost link was partitioned; a restart or an orderly stop was not', () => {
    assert.equal(wasPartition({ boot: 'x', orderly: false, at: 0 }, 'x'), true);
    assert.equal(wasPartition({ boot: 'x', orderly: false, at: 0 }, 'y'), false);
    assert.equal(wasPartition({ boot: 'x', orderly: true, at: 0 }, 'x'), false);
    assert.equal(wasPartition(undefined, 'x'), false);
  });
  it('collects a tombstone only once every other member holds it and it is old enough', () => {
    const t = new Map([
      ['seen-by-all', { arrived: 0, seenBy: new Set(['b', 'c']) }],
      ['seen-by-one', { arrived: 0, seenBy: new Set(['b']) }],
      ['too-young', { arrived: 900, seenBy: new Set(['b', 'c']) }],
    ]);
    assert.deepEqual(collectableTombstones(t, ['b', 'c'], 1000, 500), ['seen-by-all']);
    assert.deepEqual(collectableTombstones(t, ['b'], 1000, 500).sort(), ['seen-by-all', 'seen-by-one']);
  });
});

describe('probe timeouts under a starved machine', () => {
  it('are the configured ones on a healthy machine, and stretch with this process\'s own stalls, capped', () => {
    assert.equal(stretchedTimeout(1000, 0), 1000);
    assert.equal(stretchedTimeout(1000, 150), 1000, 'scheduling noise does not stretch');
    assert.equal(stretchedTimeout(1000, 700), 2400, 'a 700 ms stall: the probe and its answer may each wait that long');
    assert.equal(stretchedTimeout(1000, 60_000), 8000, 'never more than 8 timeouts');
  });

  it('count a stall for a few seconds after it, then forget it', () => {
    const health = new LocalHealth();
    health.noteLateness(100, 0);
    assert.equal(health.stallMs(0), 0, 'noise is not a stall');
    health.noteLateness(1500, 1000);
    assert.equal(health.stallMs(3000), 1500);
    assert.equal(health.stallMs(7000), 0);
    health.noteLateness(700);
    assert.equal(health.timeoutMs(1000), 2400, 'a probe now gets the stretched timeout');
  });
});
