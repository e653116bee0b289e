import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Fleet, waitFor, waitForStatus } from '../support/agents';
import { PrometheusServer, type PromSample } from '../support/prometheus-server';

// Agents on 127.0.51.1-3, Prometheus on 127.0.51.9: a real scrape of /metrics, read back through Prometheus's query API.
describe('Prometheus scrapes the agents', { timeout: 120_000 }, () => {
  const names = ['muster@127.0.51.1', 'muster@127.0.51.2', 'muster@127.0.51.3'];
  const fleet = new Fleet({ MUSTER_NODE__COOKIE: 'test-cookie' }, 'fast');
  const prometheus = new PrometheusServer('127.0.51.9', names.map((n) => `${n.slice(n.indexOf('@') + 1)}:18083`));
  before(() => prometheus.start());
  after(async () => {
    await fleet.close();
    await prometheus.close();
  });

  /** What each scraped node says, by its instance label. */
  const byInstance = (rows: PromSample[]) => Object.fromEntries(rows.map((r) => [r.metric.instance, Number(r.value[1])]));

  it('reads 3 running members from every node, then 2 and 1 stopped after a node is killed', async () => {
    const [a, b, c] = await fleet.startAll(names);
    for (const x of [b, c]) assert.equal((await x.ctl(['cluster', 'join', a.name])).code, 0);
    await waitForStatus(fleet.agents, names);
    const three = await waitFor(async () => {
      const rows = await prometheus.query('muster_members{state="running"}');
      return rows.length === 3 && rows.every((r) => r.value[1] === '3') ? rows : undefined;
    }, 20_000, 'Prometheus to read 3 running members from each of the 3 nodes');
    assert.deepEqual(Object.keys(byInstance(three!)).sort(), ['127.0.51.1:18083', '127.0.51.2:18083', '127.0.51.3:18083']);
    assert.deepEqual((await prometheus.query('up{job="muster"}')).map((r) => r.value[1]), ['1', '1', '1']);
    // The histogram and the counters are readable as Prometheus types, not just text.
    const rtt = await waitFor(async () => (await prometheus.query('sum(rate(muster_probe_rtt_seconds_count[10s]))'))[0], 10_000, 'probe round trips');
    assert.ok(Number(rtt.value[1]) > 0, 'probes answered per second');

    await c.signal('SIGKILL');
    const two = await waitFor(async () => {
      const running = byInstance(await prometheus.query('muster_members{state="running"}'));
      const stopped = byInstance(await prometheus.query('muster_members{state="stopped"}'));
      const survivors = ['127.0.51.1:18083', '127.0.51.2:18083'];
      return survivors.every((i) => running[i] === 2 && stopped[i] === 1) ? running : undefined;
    }, 20_000, 'Prometheus to read 2 running and 1 stopped member from the two survivors');
    assert.ok(two);
    await waitFor(async () => (await prometheus.query('up{instance="127.0.51.3:18083"}'))[0]?.value[1] === '0', 10_000, 'the killed node to show down in Prometheus');
  });
});
