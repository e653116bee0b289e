import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { STATE_FILE, type PersistedState } from '../../node-agent/src/store/state-file';
import { StateWriter } from '../../node-agent/src/store/state-writer';
import { DEFAULT_TUNING } from '../../node-agent/src/tuning';
import { Process, Scheduler } from '../sim/scheduler';

/** Waits (real time, bounded) for `cond`: the file system's own writes are real. */
async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Fixture {
  w: StateWriter;
  errors: Error[];
  /** The cluster id in the state file, or undefined while there is none. */
  onDisk: () => string | undefined;
  /** When the state file was last replaced. */
  writtenAt: () => number;
  /** Sets the state the writer will write next. */
  set: (clusterId: string) => void;
  /** Moves the writer's (virtual) clock on by `ms`, running its timers. */
  advance: (ms: number) => Promise<void>;
  /** Awaits `p`, running the writer's due timers meanwhile (its real disk writes take real time). */
  drive: <T>(p: Promise<T>) => Promise<T>;
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
  const sched = new Scheduler();
  try {
    await test({
      w: new StateWriter(dir, { whole: () => current, changes: () => 'whole' }, (e) => errors.push(e), DEFAULT_TUNING.store, sched.clockFor(new Process('writer'))),
      errors,
      onDisk,
      writtenAt: () => statSync(file).mtimeMs,
      set: (id) => (current = { ...current, cluster_id: id }),
      advance: (ms) => sched.runUntil(sched.now + ms),
      drive: async (p) => {
        let settled = false;
        const done = p.finally(() => (settled = true));
        await until(() => {
          void sched.runUntil(sched.now);
          return settled;
        }, 'the save resolves');
        return done;
      },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('state writer', () => {
  it('a save is on disk when it resolves, holding the state as it was then', () =>
    withWriter(async (t) => {
      t.set('c1');
      await t.drive(t.w.save());
      assert.equal(t.onDisk(), 'c1');
      assert.deepEqual(t.errors, []);
    }));

  it(`saveSoon writes after ${DEFAULT_TUNING.store.saveSoonMs} ms, once for many calls`, () =>
    withWriter(async (t) => {
      t.set('c2');
      for (let i = 0; i < 50; i++) t.w.saveSoon();
      await t.advance(DEFAULT_TUNING.store.saveSoonMs - 1);
      assert.equal(t.onDisk(), undefined, 'not written before saveSoonMs');
      await t.advance(1);
      await until(() => t.onDisk() === 'c2', 'the held save is on disk');
      const first = t.writtenAt();
      await t.advance(10 * DEFAULT_TUNING.store.saveSoonMs);
      assert.equal(t.writtenAt(), first, 'one write for all the calls');
    }));

  it('a prompt save takes what a pending saveSoon was for, and the pending one is dropped', () =>
    withWriter(async (t) => {
      t.set('c3');
      t.w.saveSoon();
      t.set('c4');
      await t.drive(t.w.save());
      assert.equal(t.onDisk(), 'c4');
      const at = t.writtenAt();
      await t.advance(10 * DEFAULT_TUNING.store.saveSoonMs);
      assert.equal(t.writtenAt(), at, 'no second write after the prompt one');
    }));
});
