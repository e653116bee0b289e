import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { StateWriter, STATE_FILE, type PersistedState } from '../../node-agent/src/store/state-file';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A writer over a temporary directory whose state is `current`, counting the writes made. */
function writer() {
  const dir = mkdtempSync(path.join(tmpdir(), 'muster-state-'));
  let current: PersistedState = { format: 1, node: 'muster@127.0.0.1', cluster_id: 'c0', members: [], data: [] };
  const errors: Error[] = [];
  const w = new StateWriter(dir, () => current, (e) => errors.push(e));
  const onDisk = () => {
    try {
      return (JSON.parse(readFileSync(path.join(dir, STATE_FILE), 'utf8')) as PersistedState).cluster_id;
    } catch {
      return undefined;
    }
  };
  return { dir, w, errors, onDisk, set: (id: string) => (current = { ...current, cluster_id: id }), close: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('state writer', () => {
  it('a save is on disk when it resolves, holding the state as it was then', async () => {
    const t = writer();
    try {
      t.set('c1');
      await t.w.save();
      assert.equal(t.onDisk(), 'c1');
      assert.deepEqual(t.errors, []);
    } finally {
      t.close();
    }
  });

  it('saveSoon writes within about half a second, once for many calls', async () => {
    const t = writer();
    try {
      t.set('c2');
      for (let i = 0; i < 50; i++) t.w.saveSoon();
      // A prompt save of this small file is on disk within milliseconds; this one is held.
      await sleep(200);
      assert.equal(t.onDisk(), undefined, 'not written at once');
      for (let i = 0; i < 30 && t.onDisk() === undefined; i++) await sleep(100);
      assert.equal(t.onDisk(), 'c2');
      const first = statSync(path.join(t.dir, STATE_FILE)).mtimeMs;
      await sleep(1000);
      assert.equal(statSync(path.join(t.dir, STATE_FILE)).mtimeMs, first, 'one write for all the calls');
    } finally {
      t.close();
    }
  });

  it('a prompt save takes what a pending saveSoon was for, and the pending one is dropped', async () => {
    const t = writer();
    try {
      t.set('c3');
      t.w.saveSoon();
      t.set('c4');
      await t.w.save();
      assert.equal(t.onDisk(), 'c4');
      const at = statSync(path.join(t.dir, STATE_FILE)).mtimeMs;
      await sleep(1200);
      assert.equal(statSync(path.join(t.dir, STATE_FILE)).mtimeMs, at, 'no second write after the prompt one');
    } finally {
      t.close();
    }
  });
});
