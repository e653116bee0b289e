import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Fleet, staticSeedsEnv, waitFor, waitForStatus } from '../support/agents';

// The agent's stdout (node-agent/src/log.ts): JSON lines written without blocking, and a reader
// that goes away costs the log, not the node.
describe('the agent log on stdout', () => {
  const fleet = new Fleet();
  after(() => fleet.close());

  it('a node whose stdout reader went away (EPIPE) keeps running, joins and answers', async () => {
    const names = ['muster@127.0.54.2', 'muster@127.0.54.3'];
    const env = staticSeedsEnv(names);
    const a = fleet.agent(names[0], env);
    await a.start();
    // Nobody reads the agent's stdout from here on: its next line meets a closed pipe.
    a.proc!.stdout!.destroy();
    const b = fleet.agent(names[1], env);
    await b.start();
    // The join makes the first node log (a member joined, links up) into the closed pipe.
    await waitForStatus([b], names);
    await waitFor(async () => (await a.ctl(['cluster', 'status', '--json'])).code === 0, 10_000, 'the first node to answer ctl');
    const status = JSON.parse((await a.ctl(['cluster', 'status', '--json'])).stdout) as { running_nodes: string[] };
    assert.deepEqual(status.running_nodes.sort(), names);
    assert.ok(a.running, `the first node is still running (its output: ${a.raw.slice(-500)})`);
  });

  it('a node stopped with SIGTERM writes every line it logged before it exits, the last one "stopped"', async () => {
    const a = fleet.agent('muster@127.0.54.4');
    await a.start();
    const code = await a.signal('SIGTERM');
    assert.equal(code, 0, a.raw.slice(-500));
    // 'exit' can come before the last bytes of stdout are read here.
    const out = a.proc!.stdout!;
    if (!out.readableEnded) await new Promise((r) => out.once('end', r));
    const msgs = a.lines.map((l) => l.msg);
    assert.ok(msgs.some((m) => m.startsWith('stopping on SIGTERM')), msgs.join('\n'));
    assert.equal(msgs.at(-1), 'stopped', msgs.join('\n'));
  });
});
