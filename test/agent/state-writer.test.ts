import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { STATE_FILE, type PersistedState } from '../../node-agent/src/store/state-file';
import { StateWriter } from '../../node-agent/src/store/state-writer';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Fixture {
  w: StateWriter;
  errors: Error[];
  /** The cluster id in the state file, or undefined while there is none. */
  onDisk: () => string | undefined;
  /** When the state file was last replaced. */
  writtenAt: () => number;
  /** Sets the state the writer will write next. */
  set: (clusterId: string) => void;
}

/** Runs `test` with a writer over a temporary directory, removed afterwards. */
async function withWriter(test: (f: Fixture) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'muster-state-'));
  const file = path.join(dir, STATE_FILE);
  let current: PersistedState = { format: 1, node: 'muster@127.0.0.1', cluster_id: 'c0', members: [], data: [] };
  const errors: Error[] = [];
  const onDisk = () => {
    try {
      return (JSON.parse(readFileSync(file, 'utf8')) as PersistedState).cluster_id;
    } catch {
      return undefined;
    }
  };
  try {
    await test({
      w: new StateWriter(dir, { whole: () => current, changes: () => 'whole' }, (e) => errors.push(e)),
      errors,
      onDisk,
      writtenAt: () => statSync(file).mtimeMs,
      set: (id) => (current = { ...current, cluster_id: id }),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('state writer', () => {
  it('a save is on disk when it resolves, holding the state as it was then', () =>
    withWriter(async (t) => {
      t.set('c1');
      await t.w.save();
      assert.equal(t.onDisk(), 'c1');
      assert.deepEqual(t.errors, []);
    }));

  it('saveSoon writes within about half a second, once for many calls', () =>
    withWriter(async (t) => {
      t.set('c2');
      for (let i = 0; i < 50; i++) t.w.saveSoon();
      // A prompt save of this small file is on disk within milliseconds; this one is held.
      await sleep(200);
      assert.equal(t.onDisk(), undefined, 'not written at once');
      for (let i = 0; i < 30 && t.onDisk() === undefined; i++) await sleep(100);
      assert.equal(t.onDisk(), 'c2');
      const first = t.writtenAt();
      await sleep(1000);
      assert.equal(t.writtenAt(), first, 'one write for all the calls');
    }));

  it('a prompt save takes what a pending saveSoon was for, and the pending one is dropped', () =>
    withWriter(async (t) => {
      t.set('c3');
      t.w.saveSoon();
      t.set('c4');
      await t.w.save();
      assert.equal(t.onDisk(), 'c4');
      const at = t.writtenAt();
      await sleep(1200);
      assert.equal(t.writtenAt(), at, 'no second write after the prompt one');
    }));
});
