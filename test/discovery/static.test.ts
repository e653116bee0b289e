import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Fleet, staticSeedsEnv as staticEnv, waitFor, waitForStatus, type Agent } from '../support/agents';
import { formRepeatedly } from '../support/formation';

const names = (net: string, from: number, count: number) => Array.from({ length: count }, (_, i) => `muster@127.0.${net}.${from + i}`);

// Real agents on 127.0.10.x.
describe('static discovery', { timeout: 600_000 }, () => {
  it('10 nodes started at the same moment end in ONE cluster of 10, 10 times in a row', async () => {
    const seeds = names('10', 2, 10);
    const times = await formRepeatedly(10, seeds, () => staticEnv(seeds));
    console.log(`static, 10 nodes: formed in ${times.map((t) => `${t}ms`).join(', ')}`);
  });

  describe('later nodes, unreachable seeds and strangers', () => {
    const fleet = new Fleet();
    after(() => fleet.close());
    const seeds = names('11', 2, 4); // .5 is started late
    let agents: Agent[];

    it('forms with a seed that is down, logs why it was skipped, and joins it when it appears', async () => {
      agents = await fleet.startAll(seeds.slice(0, 3), staticEnv(seeds));
      await waitForStatus(agents, seeds.slice(0, 3), [], 30_000);
      await waitFor(() => agents.some((a) => a.logged(/discovered muster@127\.0\.11\.5 but skipped it: cannot connect to 127\.0\.11\.5:4370: ECONNREFUSED/)), 5000, 'a node to log the seed it skipped');
      await waitFor(() => agents.some((a) => a.logged(/^joined muster@127\.0\.11\.\d: smallest reachable member/)), 5000, 'the log to say whom a node joined and why');
      const late = fleet.agent(seeds[3], staticEnv(seeds));
      await late.start();
      agents.push(late);
      await waitForStatus(agents, seeds, [], 30_000);
    });

    it('status says which strategy is active, when discovery ran and what it found', async () => {
      const s = await agents[0].statusDirect();
      assert.equal(s.discovery?.strategy, 'static');
      assert.deepEqual(s.discovery?.found, [...seeds].sort());
      assert.ok(Date.now() - Date.parse(s.discovery!.last_run!) < 30_000);
      const text = await agents[0].ctl(['cluster', 'status']);
      assert.match(text.stdout, /Discovery: static, last run .* ago, found 4 node\(s\)/);
      // The same on /metrics: discovery rounds by strategy.
      const metrics = await (await fetch(`http://${agents[0].host}:18083/metrics`)).text();
      const runs = Number(/^muster_discovery_runs_total\{strategy="static"\} (\d+)$/m.exec(metrics)?.[1]);
      assert.ok(runs >= 1, `discovery rounds counted: ${runs}`);
    });

    it('a seed with another cookie is skipped and logged, never joined', async () => {
      const stranger = fleet.agent('muster@127.0.11.9', { MUSTER_NODE__COOKIE: 'other', ...staticEnv([...seeds, 'muster@127.0.11.9']) });
      await stranger.start();
      await waitFor(() => stranger.logged(/discovered muster@127\.0\.11\.2 but skipped it: refused by peer: cookie/), 15_000, 'the stranger to log the refusal');
      await waitForStatus([stranger], [stranger.name]);
      await waitForStatus(agents, seeds);
    });
  });
});
