import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Replica } from '../../node-agent/src/membership/replica';
import { fileDisk, logFile, readState, STATE_FILE, type PersistedState, type StateDisk } from '../../node-agent/src/store/state-file';
import { StateWriter } from '../../node-agent/src/store/state-writer';
import { DEFAULT_TUNING } from '../../node-agent/src/tuning';

const NODE = 'muster@127.0.0.1';
const KB = 'v'.repeat(1024);

/** A replica over a fresh temporary data directory, saved by a writer as the agent saves it. */
function setup(disk: StateDisk = fileDisk, compactMinBytes = DEFAULT_TUNING.store.compactMinBytes) {
  const dir = mkdtempSync(path.join(tmpdir(), 'muster-log-'));
  const replica = new Replica(NODE);
  disk.writeNow(dir, replica.persisted());
  const errors: Error[] = [];
  const writer = new StateWriter(dir, { whole: () => replica.persisted(), changes: () => replica.changes() }, (e) => errors.push(e), { ...DEFAULT_TUNING.store, compactMinBytes }, undefined, disk);
  const put = (key: string, value: string | null) => replica.data.merge({ key, value, ts: replica.clock.now() });
  return { dir, replica, writer, errors, put, done: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs `test` on a fresh setup, and removes its directory afterwards whatever happened. */
async function withSetup(test: (t: ReturnType<typeof setup>) => Promise<void>, disk?: StateDisk, compactMinBytes?: number): Promise<void> {
  const t = setup(disk, compactMinBytes);
  try {
    await test(t);
  } finally {
    t.done();
  }
}

const sorted = (s: PersistedState) => ({ ...s, log: undefined, members: [...s.members].sort((a, b) => a.key.localeCompare(b.key)), data: [...s.data].sort((a, b) => a.key.localeCompare(b.key)) });

describe('state log: a save costs the change, not the whole state', () => {
  it('puts to a state of 1,000 keys of 1 KB append about their own size; the snapshot is not rewritten', async () => {
    await withSetup(async (t) => {
    for (let i = 0; i < 1000; i++) t.put(`k${i}`, KB);
    await t.writer.save();
    // That first megabyte went to the log, which is now longer than the snapshot: the next save is one.
    t.put('k0', `${KB}?`);
    await t.writer.save();
    const snapshot = path.join(t.dir, STATE_FILE);
    const ino = statSync(snapshot).ino;
    const before = statSync(snapshot).size;
    const logBefore = readdirSync(t.dir).filter((f) => f.endsWith('.log')).map((f) => statSync(path.join(t.dir, f)).size)[0] ?? 0;
    for (let i = 0; i < 100; i++) {
      t.put(`k${i}`, `${KB}!`);
      await t.writer.save();
    }
    assert.equal(statSync(snapshot).ino, ino, 'state.json not replaced');
    assert.equal(statSync(snapshot).size, before);
    const log = readdirSync(t.dir).filter((f) => f.endsWith('.log'));
    assert.equal(log.length, 1);
    const grown = statSync(path.join(t.dir, log[0])).size - logBefore;
    assert.ok(grown > 100 * 1024 && grown < 100 * 1200, `100 changes of 1 KB grew the log by ${grown} bytes`);
    assert.deepEqual(t.errors, []);
    });
  });

  it('what is read back after restart is the state: writes, overwrites, deletes, dropped tombstones, members', async () => {
    await withSetup(async (t) => {
    for (let i = 0; i < 50; i++) {
      t.put(`k${i}`, `v${i}`);
      if (i % 7 === 0) await t.writer.save();
    }
    t.put('k3', null);
    t.put('__proto__', 'a key like any other');
    t.replica.members.merge({ key: 'muster@127.0.0.2', state: 'member', ts: t.replica.clock.now() });
    t.replica.fresh = false;
    await t.writer.save();
    t.replica.data.delete('k3'); // a collected tombstone
    t.replica.members.merge({ key: 'muster@127.0.0.2', state: 'removed', reason: 'leave', ts: t.replica.clock.now() });
    await t.writer.save();
    const back = readState(t.dir)!;
    assert.deepEqual(sorted(back), sorted(t.replica.persisted()));
    assert.equal(back.data.find((e) => e.key === 'k3'), undefined);
    assert.equal(back.data.find((e) => e.key === '__proto__')?.value, 'a key like any other');
    });
  });

  it('a move to another cluster (the maps replaced) is written as a snapshot, and read back', async () => {
    await withSetup(async (t) => {
    t.put('a', '1');
    await t.writer.save();
    t.replica.moveTo('other-cluster', false);
    t.replica.members.merge({ key: 'muster@127.0.0.9', state: 'member', ts: t.replica.clock.now() });
    await t.writer.save();
    const back = readState(t.dir)!;
    assert.equal(back.cluster_id, 'other-cluster');
    assert.deepEqual(back.data, []);
    assert.deepEqual(sorted(back), sorted(t.replica.persisted()));
    });
  });

  it('once the log is longer than the snapshot, the next write is a new snapshot and the old log is removed', async () => {
    await withSetup(async (t) => {
    for (let i = 0; i < 4; i++) t.put(`k${i}`, KB);
    await t.writer.save();
    const gen0 = (JSON.parse(readFileSync(path.join(t.dir, STATE_FILE), 'utf8')) as PersistedState).log!;
    for (let i = 0; i < 12; i++) {
      t.put(`k${i % 4}`, `${KB}${i}`);
      await t.writer.save();
    }
    const gen1 = (JSON.parse(readFileSync(path.join(t.dir, STATE_FILE), 'utf8')) as PersistedState).log!;
    assert.ok(gen1 > gen0, `a new snapshot (log generation ${gen0} -> ${gen1})`);
    assert.deepEqual(readdirSync(t.dir).filter((f) => f.endsWith('.log')).sort(), existsSync(path.join(t.dir, logFile(gen1))) ? [logFile(gen1)] : []);
    assert.deepEqual(sorted(readState(t.dir)!), sorted(t.replica.persisted()));
    }, fileDisk, 4096);
  });
});

describe('state log: crashes and bad files', () => {
  it('a torn last line (a crash in mid-append, never acknowledged) is dropped and cut off; appends after it read back', async () => {
    await withSetup(async (t) => {
    t.put('a', '1');
    await t.writer.save();
    const gen = (JSON.parse(readFileSync(path.join(t.dir, STATE_FILE), 'utf8')) as PersistedState).log!;
    const log = path.join(t.dir, logFile(gen));
    appendFileSync(log, '{"cluster_id":"x","data":[{"key":"torn","val');
    const back = readState(t.dir)!;
    assert.equal(back.data.find((e) => e.key === 'torn'), undefined);
    assert.ok(readFileSync(log, 'utf8').endsWith('\n'), 'the torn line is cut off');
    // The restarted node appends after the whole lines.
    const r2 = new Replica(NODE, back);
    const w2 = new StateWriter(t.dir, { whole: () => r2.persisted(), changes: () => r2.changes() }, () => undefined);
    r2.data.merge({ key: 'b', value: '2', ts: r2.clock.now() });
    await w2.save();
    assert.deepEqual(
      readState(t.dir)!.data.map((e) => [e.key, e.value]),
      [['a', '1'], ['b', '2']],
    );
    });
  });

  it('a log left by a crash between a snapshot and the old log removal is ignored and removed', async () => {
    await withSetup(async (t) => {
    t.put('a', '1');
    await t.writer.save();
    writeFileSync(path.join(t.dir, logFile(99)), '{"cluster_id":"stale","data":[{"key":"a","value":"old","ts":{"p":1,"l":0,"n":"x"}}]}\n');
    const back = readState(t.dir)!;
    assert.equal(back.data.find((e) => e.key === 'a')?.value, '1');
    assert.equal(existsSync(path.join(t.dir, logFile(99))), false);
    });
  });

  it('a broken line before the end is refused, naming the log and the line', async () => {
    await withSetup(async (t) => {
    t.put('a', '1');
    await t.writer.save();
    const gen = (JSON.parse(readFileSync(path.join(t.dir, STATE_FILE), 'utf8')) as PersistedState).log!;
    appendFileSync(path.join(t.dir, logFile(gen)), 'not json\n{"cluster_id":"c"}\n');
    assert.throws(() => readState(t.dir), new RegExp(`${logFile(gen).replace(/\./g, '\\.')}: line 2 is not valid JSON`));
    });
  });

  it('after a failed append (a full disk) nothing is lost: the next write is a snapshot holding every change', async () => {
    let failNext = false;
    const disk: StateDisk = {
      ...fileDisk,
      append: (dir, change) => {
        if (failNext) {
          failNext = false;
          return Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
        }
        return fileDisk.append(dir, change);
      },
    };
    await withSetup(async (t) => {
    t.put('a', '1');
    await t.writer.save();
    t.put('b', '2');
    failNext = true;
    await assert.rejects(t.writer.save(), /ENOSPC/);
    t.put('c', '3');
    await t.writer.save();
    assert.deepEqual(
      readState(t.dir)!.data.map((e) => [e.key, e.value]),
      [['a', '1'], ['b', '2'], ['c', '3']],
    );
    assert.equal(t.errors.length, 1);
    }, disk);
  });
});
