import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Fleet, staticSeedsEnv, waitFor, waitForStatus, type Agent } from '../support/agents';

// A disk that fails under a running agent: every failure is said, none crashes the agent, and the
// work is done once the disk is back. The data dir is swapped for a plain file, so every write
// fails with ENOTDIR (also for root, who ignores permissions). Agents on 127.0.42.x.
describe('a failing disk: errors are logged and answered, never an unhandled rejection; a write not stored is not seen', { timeout: 120_000 }, () => {
  const fleet = new Fleet();
  const names = ['muster@127.0.42.2', 'muster@127.0.42.3', 'muster@127.0.42.4'];
  let a: Agent, b: Agent, c: Agent;
  const breakDisk = (x: Agent) => {
    rmSync(x.dataDir, { recursive: true, force: true });
    writeFileSync(x.dataDir, 'not a directory');
  };
  const mendDisk = (x: Agent) => {
    rmSync(x.dataDir, { force: true });
    mkdirSync(x.dataDir);
  };
  before(async () => {
    [a, b, c] = await fleet.startAll(names, { ...staticSeedsEnv(names), MUSTER_CLUSTER__AUTOCLEAN: '2s' });
    await waitForStatus([a, b, c], names);
  });
  after(() => fleet.close());

  it('a put fails with the reason and exit 1; autoclean failing to save logs it and tries again; the agents live on', async () => {
    breakDisk(a);
    breakDisk(b);
    const put = await a.ctl(['data', 'put', 'k', 'v']);
    assert.equal(put.code, 1, put.stdout);
    assert.match(put.stderr, /cannot write .*state\.json: ENOTDIR/);
    // Not stored here, so not readable here, and never spread.
    const get = await a.ctl(['data', 'get', 'k']);
    assert.equal(get.code, 1, get.stdout);
    assert.match(get.stderr, /no key 'k'/);
    await c.signal('SIGKILL');
    await waitFor(() => a.logged(/autoclean could not remove muster@127\.0\.42\.4: cannot write .*ENOTDIR; trying again at the next look/), 20_000, 'a to log the failed autoclean');
    await waitFor(() => b.logged(/autoclean could not remove muster@127\.0\.42\.4/), 20_000, 'b to log the failed autoclean');
    assert.ok(a.running && b.running, 'both agents still run');
    assert.equal((await a.ctl(['ping'])).code, 0);
    mendDisk(a);
    mendDisk(b);
    // Once the disk takes writes again, the next look removes the stopped member.
    await waitForStatus([a, b], names.slice(0, 2), [], 20_000);
    assert.ok(a.running && b.running, 'still running');
    assert.equal((await b.ctl(['data', 'get', 'k'])).code, 1, 'the write that failed on a never reached b');
    assert.doesNotMatch(a.raw + b.raw, /Unhandled|unhandled rejection|unexpected error/i);
  });
});
