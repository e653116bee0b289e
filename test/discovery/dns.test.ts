import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Fleet, waitFor, waitForStatus } from '../support/agents';
import { formCoresAndReplicants, formRepeatedly } from '../support/formation';
import { DnsServer } from '../support/dns-server';

// A real BIND 9 serving cluster.test on 127.0.0.1:53541; agents on 127.0.14.x ask it directly
// (cluster.dns.servers), also for their own FQDN host names.
const dns = new DnsServer('127.0.0.1', 53541, 'cluster.test');
const ips = (from: number, count: number) => Array.from({ length: count }, (_, i) => `127.0.14.${from + i}`);

describe('DNS discovery', { timeout: 600_000 }, () => {
  before(() => dns.start({ a: { nodes: ips(10, 10) } }));
  after(() => dns.close());

  const aEnv = (name = 'nodes.cluster.test') => ({
    MUSTER_CLUSTER__DISCOVERY_STRATEGY: 'dns',
    MUSTER_CLUSTER__DNS__NAME: name,
    MUSTER_CLUSTER__DNS__RECORD_TYPE: 'a',
    MUSTER_CLUSTER__DNS__SERVERS: `["${dns.server}"]`,
  });

  it('A records: 10 nodes started at the same moment end in ONE cluster of 10, 10 times in a row', async () => {
    const names = ips(10, 10).map((ip) => `muster@${ip}`);
    const times = await formRepeatedly(10, names, () => aEnv());
    console.log(`dns A, 10 nodes: formed in ${times.map((t) => `${t}ms`).join(', ')}`);
  });

  it('a name that is not there yet is logged as NXDOMAIN, and the cluster forms once the records appear', async () => {
    const fleet = new Fleet();
    try {
      const names = ips(30, 3).map((ip) => `muster@${ip}`);
      const agents = await fleet.startAll(names, aEnv('later.cluster.test'));
      await waitFor(() => agents[0].logged(/discovery attempt failed: NXDOMAIN for later\.cluster\.test \(asked 127\.0\.0\.1:53541\)/), 10_000, 'NXDOMAIN to be logged');
      await waitForStatus([agents[0]], [names[0]]);
      const s = await agents[0].statusDirect();
      assert.match(s.discovery?.last_error ?? '', /NXDOMAIN for later\.cluster\.test/);
      // Two of the three are published; the third finds them through the same name and joins too.
      await dns.update({ a: { nodes: ips(10, 10), later: ips(30, 2) } });
      await waitForStatus(agents, names, [], 30_000);
      // The records change: all but one go away (the cluster does not depend on DNS to stay whole),
      // then a new node is published and started, and the cluster takes it in.
      await dns.update({ a: { nodes: ips(10, 10), later: ips(30, 1) } });
      await new Promise((r) => setTimeout(r, 1500));
      await waitForStatus(agents, names);
      await dns.update({ a: { nodes: ips(10, 10), later: [...ips(30, 1), '127.0.14.33'] } });
      const newcomer = fleet.agent('muster@127.0.14.33', aEnv('later.cluster.test'));
      await newcomer.start();
      await waitForStatus([...agents, newcomer], [...names, newcomer.name], [], 30_000);
    } finally {
      await fleet.close();
    }
  });

  it('SRV records: targets become name@<target host> and the record\'s port is used', async () => {
    const fleet = new Fleet();
    try {
      const hosts = ['n1', 'n2', 'n3'];
      const ports = [4381, 4382, 4383];
      await dns.update({
        a: { nodes: ips(10, 10), n1: ['127.0.14.41'], n2: ['127.0.14.42'], n3: ['127.0.14.43'] },
        srv: { '_muster._tcp': hosts.map((h, i) => ({ target: h, port: ports[i] })) },
      });
      const names = hosts.map((h) => `muster@${h}.cluster.test`);
      const agents = names.map((n, i) =>
        fleet.agent(n, {
          MUSTER_CLUSTER__DISCOVERY_STRATEGY: 'dns',
          MUSTER_CLUSTER__DNS__NAME: '_muster._tcp.cluster.test',
          MUSTER_CLUSTER__DNS__RECORD_TYPE: 'srv',
          MUSTER_CLUSTER__DNS__SERVERS: `["${dns.server}"]`,
          MUSTER_CLUSTER__PORT: String(ports[i]),
        }),
      );
      await Promise.all(agents.map((a) => a.start()));
      assert.ok(agents[0].logged(/listening on 127\.0\.14\.41:4381/), 'the node resolved its own FQDN through cluster.dns.servers');
      await waitForStatus(agents, names, [], 30_000, true);
      const s = await agents[1].statusDirect();
      assert.deepEqual(s.discovery?.found, names);
    } finally {
      await fleet.close();
    }
  });

  it('3 cores and 5 replicants (node.role) found through one A name form one cluster', async () => {
    const fleet = new Fleet();
    try {
      await dns.update({ a: { nodes: ips(10, 10), roles: ips(50, 8) } });
      const names = ips(50, 8).map((ip) => `muster@${ip}`);
      await formCoresAndReplicants(fleet, names.slice(0, 3), names.slice(3), aEnv('roles.cluster.test'));
    } finally {
      await fleet.close();
    }
  });
});
