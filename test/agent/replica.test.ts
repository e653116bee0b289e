import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../../node-agent/src/config/load';
import { ClusterNode } from '../../node-agent/src/membership/cluster';
import { Replica } from '../../node-agent/src/membership/replica';

// The replicated state without I/O, and a cluster node built on it without touching a disk.
describe('Replica: the replicated state, no I/O', () => {
  const self = 'muster@127.0.0.1';

  it('fresh: a cluster of one, adoptable; restored: the saved entries, with the clock past them', () => {
    const r = new Replica(self);
    assert.deepEqual(r.memberNames(), [self]);
    assert.equal(r.fresh, true);
    const saved = { ...r.persisted(), members: [...r.persisted().members, { key: 'muster@127.0.0.2', state: 'member' as const, ts: { p: Date.now() + 60_000, l: 3, n: 'muster@127.0.0.2' } }] };
    const back = new Replica(self, saved);
    assert.deepEqual(back.memberNames().sort(), [self, 'muster@127.0.0.2']);
    assert.equal(back.clusterId, r.clusterId);
    assert.ok(back.clock.now().p >= saved.members[1].ts.p, 'a new stamp is after every restored one');
  });

  it('standalone keeps the data under a new cluster id; moving to another cluster keeps or drops it', () => {
    const r = new Replica(self);
    r.data.merge({ key: 'k', value: 'v', ts: r.clock.now() });
    r.data.merge({ key: 'gone', value: null, ts: r.clock.now() });
    const { old } = r.becomeStandalone();
    assert.notEqual(r.clusterId, old);
    assert.equal(r.fresh, false);
    assert.deepEqual(r.tombstoneKeys(), ['gone']);
    r.moveTo('other', true);
    assert.equal(r.data.get('k')?.value, 'v');
    assert.deepEqual(r.memberNames(), []);
    r.moveTo('third', false);
    assert.equal(r.data.get('k'), undefined);
  });

  it('a ClusterNode is built from a replica with no data dir at all (the constructor does no I/O)', () => {
    const dataDir = path.join(tmpdir(), `muster-no-such-dir-${process.pid}`);
    const cfg = loadConfig({ env: { MUSTER_NODE__NAME: JSON.stringify(self), MUSTER_NODE__COOKIE: JSON.stringify('a-long-enough-cookie'), MUSTER_NODE__DATA_DIR: JSON.stringify(dataDir) } });
    const node = new ClusterNode(cfg, pino({ enabled: false }), new Replica(self));
    assert.deepEqual(node.status().running_nodes, [self]);
    assert.equal(existsSync(dataDir), false, 'nothing written');
  });
});
