import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { Fleet, staticSeedsEnv, waitFor, waitForStatus, type Agent } from '../support/agents';
import { neighbours, STEPS } from '../../node-agent/src/membership/overlay';

/** Established member links of `host` (ctl connections come from elsewhere and are not counted). */
function linksOf(host: string, subnet: string): number {
  const out = execFileSync('ss', ['-Htn', 'state', 'established'], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 4 && f[2].startsWith(`${host}:`) && f[3].startsWith(`${subnet}.`)).length;
}

// Twelve real agents on 127.0.24.x: more than the full mesh of 2 x STEPS + 1, so each node links to
// its ring neighbours and a few shortcuts only, and everything else it knows it hears through them.
describe('a cluster larger than its links: news travels over the neighbours', { timeout: 300_000 }, () => {
  const subnet = '127.0.24';
  const fleet = new Fleet();
  const names = Array.from({ length: 12 }, (_, i) => `muster@${subnet}.${i + 2}`);
  let agents: Agent[];
  const others = (gone: Agent) => agents.filter((a) => a !== gone);

  before(async () => {
    agents = await fleet.startAll(names, staticSeedsEnv(names));
  });
  after(() => fleet.close());

  it('forms one cluster in which every node keeps links to its overlay neighbours only, not a full mesh', async () => {
    await waitForStatus(agents, names, [], 60_000, true);
    // Links dropped while forming (crossing dials, links replaced or no longer needed) are not losses.
    const losses = agents.flatMap((a) => a.lines.filter((l) => / is stopped: /.test(l.msg)).map((l) => `${a.name}: ${l.msg}`));
    assert.deepEqual(losses, [], 'no member was reported stopped while the cluster formed');
    // Ring neighbours and shortcuts (membership/overlay.ts); links to members that are not
    // neighbours any more are closed after a grace of a few seconds.
    const want = agents.map((a) => neighbours(a.name, names, () => true).size);
    const counts = () => agents.map((a) => linksOf(a.host, subnet));
    await waitFor(() => counts().every((c, i) => c === want[i]), 30_000, `links per node to be ${want.join(', ')}`);
    assert.ok(want.every((w) => w >= 2 * STEPS), `every node keeps its ${2 * STEPS} ring neighbours: ${want.join(', ')}`);
    const total = want.reduce((a, b) => a + b, 0) / 2;
    assert.ok(total < (names.length * (names.length - 1)) / 2, `${total} links: fewer than a full mesh`);
  });

  it('a write returns once every member holds it, neighbours or not', async () => {
    const put = await agents[0].ctl(['data', 'put', 'spread', 'far']);
    assert.equal(put.code, 0, put.stderr);
    for (const a of agents) assert.deepEqual(await a.ctlDirect('data-get', { key: 'spread' }), { key: 'spread', value: 'far' }, a.name);
  });

  it('a SIGKILLed node shows stopped on every member, also those never linked to it', async () => {
    const victim = agents[6];
    await victim.signal('SIGKILL');
    await waitForStatus(others(victim), names.filter((n) => n !== victim.name), [victim.name], 20_000, true);
    await victim.start();
    await waitForStatus(agents, names, [], 30_000, true);
  });

  it('a frozen node (SIGSTOP) shows stopped on every member, and running again once it resumes', async () => {
    const victim = agents[9];
    victim.proc!.kill('SIGSTOP');
    try {
      await waitForStatus(others(victim), names.filter((n) => n !== victim.name), [victim.name], 30_000, true);
    } finally {
      victim.proc!.kill('SIGCONT');
    }
    await waitForStatus(agents, names, [], 30_000, true);
  });

  it('force-leave run on a node far from the target reaches it, and it goes standalone', async () => {
    const target = agents[11];
    const r = await agents[4].ctl(['cluster', 'force-leave', target.name]);
    assert.equal(r.code, 0, r.stderr);
    // It hears of its removal though the node that ran force-leave was never linked to it.
    await waitFor(() => target.logged(/now standalone: removed by muster@127\.0\.24\.6/), 20_000, `${target.name} to learn it was removed`);
  });

  it('a node frozen the moment its join returns, before its neighbours have synced with it, is shown stopped everywhere', async () => {
    // The force-left node's autocluster may have brought it back: take it out for good.
    await agents[11].signal('SIGKILL');
    await agents[0].ctlDirect('cluster-force-leave', { node: agents[11].name }).catch(() => undefined);
    const rest = agents.slice(0, 11);
    await waitForStatus(rest, names.slice(0, 11), [], 30_000, true);
    // Manual discovery: nothing but the join links it.
    const late = fleet.agent(`muster@${subnet}.30`, { MUSTER_CLUSTER__DISCOVERY_STRATEGY: 'manual' });
    await late.start();
    const joined = await late.ctlDirect('cluster-join', { node: agents[3].name });
    late.proc!.kill('SIGSTOP');
    try {
      assert.ok((joined as { running_nodes: string[] }).running_nodes.includes(late.name));
      // Every member hears it joined at once; those that cannot link to it must say so.
      await waitForStatus(rest, names.slice(0, 11), [late.name], 40_000, true);
    } finally {
      late.proc!.kill('SIGCONT');
    }
    await waitForStatus([...rest, late], [...names.slice(0, 11), late.name], [], 40_000, true);
  });
});
