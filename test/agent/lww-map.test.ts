import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LwwMap } from '../../node-agent/src/store/lww-map';

const e = (key: string, p: number, n = 'a', value = 'v') => ({ key, value, ts: { p, l: 0, n } });

describe('last-writer-wins map', () => {
  it('keeps the newest entry per key, whatever the order of merges', () => {
    const one = new LwwMap([e('k', 1), e('k', 3, 'b', 'new'), e('j', 2)]);
    const two = new LwwMap([e('j', 2), e('k', 3, 'b', 'new'), e('k', 1)]);
    assert.deepEqual(one.values(), two.values());
    assert.equal(one.get('k')?.value, 'new');
    assert.deepEqual(one.values().map((x) => x.key), ['j', 'k'], 'values come in key order');
  });

  it('has the same digest on two nodes exactly when they hold the same entries', () => {
    const one = new LwwMap([e('a', 1), e('b', 2)]);
    const two = new LwwMap([e('b', 2), e('a', 1)]);
    assert.equal(one.digest(), two.digest(), 'insertion order does not matter');
    two.merge(e('b', 5));
    assert.notEqual(one.digest(), two.digest(), 'a newer write changes it');
    one.merge(e('b', 5));
    assert.equal(one.digest(), two.digest(), 'and merging it makes them equal again');
    const values = one.values();
    one.delete('a');
    assert.notEqual(one.digest(), two.digest(), 'a collected entry changes it');
    assert.notEqual(one.values(), values, 'the sorted view is rebuilt after a change');
    assert.notEqual(new LwwMap([e('a', 1, 'x')]).digest(), new LwwMap([e('a', 1, 'y')]).digest(), 'the issuing node is part of the timestamp');
  });
});
