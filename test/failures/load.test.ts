import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { after, describe, it } from 'node:test';
import { type Agent, Fleet, staticSeedsEnv, waitFor, waitForStatus } from '../support/agents';

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

// Agents on 127.0.21.x. What the test relies on is made certain first, since a loaded CI machine
// broke each of these once: every link has finished its first sync before the pause (a link
// still syncing is not kept for a late answer, it never was up); the member that suspends the
// silent link keeps it for one probe timeout, 3 s here rather than 1 s; and the write is made
// while the member is paused without waiting on it (the writer may still hold a link to it and
// wait for its answer), only until the other running member has it.
describe('a member that was only paused', { timeout: 120_000 }, () => {
  const fleet = new Fleet();
  after(() => fleet.close());
  const names = ['muster@127.0.21.2', 'muster@127.0.21.3', 'muster@127.0.21.4'];

  it('shows stopped, and once resumed answers on the link it had: running again, with the writes it missed', async () => {
    const agents = await fleet.startAll(names, {
      ...staticSeedsEnv(names),
      MUSTER_CLUSTER__FAILURE_DETECTOR__PROBE_TIMEOUT: '3s',
      MUSTER_LOG__LEVEL: 'debug',
    });
    await waitForStatus(agents, names, [], 30_000, true);
    const linkUp = (x: Agent, peer: string) => x.logged(new RegExp(`^link to ${peer.replace(/\./g, '\\.')} is up`));
    await waitFor(() => agents.every((x) => names.every((n) => n === x.name || linkUp(x, n))), 20_000, 'every link up');
    const [a, b, c] = agents;
    c.proc!.kill('SIGSTOP');
    let write: Promise<unknown> | undefined;
    try {
      await waitForStatus([a, b], [a.name, b.name], [c.name], 20_000, true);
      write = a.ctlDirect('data-put', { key: 'written-while-paused', value: 'v1' });
      await waitFor(async () => ((await b.ctlDirect('data-get', { key: 'written-while-paused' })) as { value?: string }).value === 'v1', 10_000, 'the write on the other running member');
    } finally {
      // At once: a member that stopped answering keeps its link for a while, for a late answer.
      c.proc!.kill('SIGCONT');
    }
    await write;
    await waitForStatus(agents, names, [], 30_000, true);
    // Logged as the link revives; the log is written without blocking, so it may trail the status.
    await waitFor(() => [a, b].some((x) => x.logged(/muster@127\.0\.21\.4 answered after all: syncing again on the same link/)), 5000, 'the paused member to come back on its link, without a new handshake');
    assert.deepEqual(await c.ctlDirect('data-get', { key: 'written-while-paused' }), { key: 'written-while-paused', value: 'v1' });
  });
});
