import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { after, describe, it } from 'node:test';
import { Fleet, staticSeedsEnv, waitForStatus } from '../support/agents';

// Load is not death: agents on 127.0.18.x under default detector settings.
describe('busy but alive is not dead', { timeout: 120_000 }, () => {
  const fleet = new Fleet();
  after(() => fleet.close());
  const names = ['muster@127.0.18.2', 'muster@127.0.18.3', 'muster@127.0.18.4'];

  it('every core saturated for 10 s and one agent paused for 1 s: no member is declared stopped', async () => {
    const agents = await fleet.startAll(names, staticSeedsEnv(names));
    await waitForStatus(agents, names, [], 30_000);
    const before = agents.map((a) => a.lines.length);
    // Busy loops that end by themselves after 10 s: one per core.
    const burners = cpus().map(() => spawn(process.execPath, ['-e', 'const end = Date.now() + 10000; while (Date.now() < end) {}'], { stdio: 'ignore' }));
    const done = Promise.all(burners.map((b) => new Promise((r) => b.once('exit', r))));
    await new Promise((r) => setTimeout(r, 3000));
    const paused = agents[1];
    paused.proc!.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 1000));
    paused.proc!.kill('SIGCONT');
    await done;
    await new Promise((r) => setTimeout(r, 3000));
    agents.forEach((a, i) => {
      const stops = a.lines.slice(before[i]).filter((l) => / is stopped: /.test(l.msg));
      assert.deepEqual(stops.map((l) => l.msg), [], `${a.name} declared a member stopped under load`);
    });
    await waitForStatus(agents, names, []);
  });
});

// Agents on 127.0.21.x under default detector settings.
describe('a member that was only paused', { timeout: 120_000 }, () => {
  const fleet = new Fleet();
  after(() => fleet.close());
  const names = ['muster@127.0.21.2', 'muster@127.0.21.3', 'muster@127.0.21.4'];

  it('shows stopped, and once resumed answers on the link it had: running again, with the writes it missed', async () => {
    const agents = await fleet.startAll(names, staticSeedsEnv(names));
    await waitForStatus(agents, names, [], 30_000, true);
    const [a, b, c] = agents;
    c.proc!.kill('SIGSTOP');
    try {
      await waitForStatus([a, b], [a.name, b.name], [c.name], 20_000, true);
      await a.ctlDirect('data-put', { key: 'written-while-paused', value: 'v1' });
    } finally {
      // At once: a member that stopped answering keeps its link for a while, for a late answer.
      c.proc!.kill('SIGCONT');
    }
    await waitForStatus(agents, names, [], 30_000, true);
    assert.ok(
      [a, b].some((x) => x.logged(/muster@127\.0\.21\.4 answered after all: syncing again on the same link/)),
      'the paused member came back on its link, without a new handshake',
    );
    assert.deepEqual(await c.ctlDirect('data-get', { key: 'written-while-paused' }), { key: 'written-while-paused', value: 'v1' });
  });
});
