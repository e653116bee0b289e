import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DnsDiscovery } from '../../node-agent/src/discovery/dns';
import { Fleet, waitForStatus } from '../support/agents';
import { makeCa, makeNodeCert, tlsEnv } from '../support/certs';
import { DnsServer } from '../support/dns-server';
import { NetLab } from '../support/netlab';

describe('IPv6: inet6_tcp and inet6_tls', { timeout: 180_000 }, () => {
  it('a node named muster@::1 listens and answers on the IPv6 loopback', async () => {
    const fleet = new Fleet();
    try {
      const [a] = await fleet.startAll(['muster@::1'], { MUSTER_CLUSTER__PROTO_DIST: 'inet6_tcp', MUSTER_CLUSTER__PORT: '4391' });
      assert.ok(a.logged(/listening on ::1:4391/));
      await waitForStatus([a], ['muster@::1']);
      assert.equal((await a.ctl(['data', 'put', 'v6', 'yes'])).code, 0);
    } finally {
      await fleet.close();
    }
  });

  for (const proto of ['inet6_tcp', 'inet6_tls']) {
    it(`${proto}: three test hosts with IPv6 addresses form one cluster`, async () => {
      const lab = new NetLab();
      const fleet = new Fleet();
      try {
        lab.setup(3);
        const names = [0, 1, 2].map((i) => `muster@${lab.address6(i)}`);
        if (proto === 'inet6_tls') makeCa(fleet.dir, 'ca');
        const agents = names.map((n, i) =>
          fleet.agent(
            n,
            {
              MUSTER_CLUSTER__PROTO_DIST: proto,
              MUSTER_CLUSTER__DISCOVERY_STRATEGY: 'static',
              MUSTER_CLUSTER__STATIC__SEEDS: `[${names.map((x) => `"${x}"`).join(',')}]`,
              ...(proto === 'inet6_tls' ? tlsEnv(makeNodeCert(fleet.dir, 'ca', `n${i}`, `IP:${lab.address6(i)}`), proto) : {}),
            },
            lab.netns(i),
          ),
        );
        await Promise.all(agents.map((a) => a.start()));
        await waitForStatus(agents, names, [], 30_000);
        assert.ok(agents[0].logged(new RegExp(`listening on ${lab.address6(0)}:4370`)));
      } finally {
        await fleet.close();
        lab.close();
      }
    });
  }

  it('DNS discovery with record_type = aaaa names nodes by their IPv6 addresses', async () => {
    const dns = new DnsServer('127.0.0.1', 53551, 'v6.test');
    await dns.start({ aaaa: { nodes: ['fd00:213::2', 'fd00:213::3'] } });
    try {
      const d = new DnsDiscovery({ name: 'nodes.v6.test', recordType: 'aaaa', servers: [dns.server], namePart: 'muster' });
      assert.deepEqual((await d.discover()).map((n) => n.name).sort(), ['muster@fd00:213::2', 'muster@fd00:213::3']);
    } finally {
      await dns.close();
    }
  });
});
