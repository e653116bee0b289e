import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Fleet, waitFor, waitForStatus, type Agent } from '../support/agents';
import { formCoresAndReplicants, formRepeatedly } from '../support/formation';
import { EtcdServer } from '../support/etcd-server';

// A real etcd (Debian's etcd-server) on 127.0.12.1; agents on 127.0.12.x.
const etcdEnv = (url: string, extra: Record<string, string> = {}) => ({
  MUSTER_CLUSTER__DISCOVERY_STRATEGY: 'etcd',
  MUSTER_CLUSTER__ETCD__SERVER: url,
  MUSTER_CLUSTER__ETCD__PREFIX: 'musterdisc',
  ...extra,
});

async function keys(etcd: EtcdServer): Promise<string[]> {
  const c = etcd.client();
  try {
    return (await c.getAll().prefix('musterdisc/muster/nodes/').keys()).sort();
  } finally {
    c.close();
  }
}

describe('etcd discovery', { timeout: 600_000 }, () => {
  const etcd = new EtcdServer('127.0.12.1');
  before(() => etcd.start());
  after(() => etcd.close());

  it('10 nodes started at the same moment end in ONE cluster of 10, 10 times in a row', async () => {
    const names = Array.from({ length: 10 }, (_, i) => `muster@127.0.12.${10 + i}`);
    // Each run has its own cluster name, so keys left by the previous run (until their lease ends) do not count.
    const times = await formRepeatedly(10, names, (run) => etcdEnv(etcd.url, { MUSTER_CLUSTER__NAME: `run${run}`, MUSTER_CLUSTER__ETCD__NODE_TTL: '5s' }));
    console.log(`etcd, 10 nodes: formed in ${times.map((t) => `${t}ms`).join(', ')}`);
  });

  describe('registration and outages', () => {
    const fleet = new Fleet();
    after(() => fleet.close());
    const names = ['muster@127.0.12.2', 'muster@127.0.12.3', 'muster@127.0.12.4'];
    let agents: Agent[];

    it('each node registers <prefix>/<cluster.name>/nodes/<node name> and the nodes form one cluster', async () => {
      agents = await fleet.startAll(names, etcdEnv(etcd.url, { MUSTER_CLUSTER__ETCD__NODE_TTL: '2s' }));
      await waitForStatus(agents, names, [], 30_000);
      await waitFor(async () => JSON.stringify(await keys(etcd)) === JSON.stringify(names.map((n) => `musterdisc/muster/nodes/${n}`)), 10_000, 'the three keys');
    });

    it('leave deletes the key; a stopped node\'s key expires with its lease', async () => {
      const r = await agents[2].ctl(['cluster', 'leave']);
      assert.equal(r.code, 0, r.stderr);
      await waitFor(async () => !(await keys(etcd)).includes('musterdisc/muster/nodes/muster@127.0.12.4'), 5000, 'the leaver\'s key to be deleted');
      await waitForStatus(agents.slice(0, 2), names.slice(0, 2));
      await waitForStatus([agents[2]], [names[2]], [], 10_000);
      await agents[2].signal('SIGTERM');
      await agents[2].start();
      await waitForStatus(agents, names, [], 30_000);
    });

    it('an etcd outage longer than node_ttl neither splits nor shrinks the cluster, and every node registers again', async () => {
      await etcd.kill();
      const down = Date.now();
      await waitFor(
        () => agents.some((a) => a.logged(/discovery attempt failed: etcd http:\/\/127\.0\.12\.1:2379 cannot list/)),
        20_000,
        'a failed attempt to be logged with the endpoint',
      );
      await new Promise((r) => setTimeout(r, Math.max(0, 5000 - (Date.now() - down)))); // > node_ttl of 2s: the leases expire meanwhile
      await waitForStatus(agents, names, [], 5000);
      await etcd.start();
      await waitFor(async () => (await keys(etcd)).length === 3, 30_000, 'all three nodes to register again after etcd returns');
      await waitForStatus(agents, names);
    });
  });

  it('nodes booted while etcd is down join once it starts', async () => {
    const late = new EtcdServer('127.0.12.100');
    const fleet = new Fleet();
    try {
      const names = ['muster@127.0.12.30', 'muster@127.0.12.31', 'muster@127.0.12.32'];
      const agents = await fleet.startAll(names, etcdEnv(late.url));
      await waitFor(() => agents[0].logged(/etcd http:\/\/127\.0\.12\.100:2379 .*(refused|cannot list)/), 15_000, 'the failed attempt to be logged');
      await waitForStatus([agents[0]], [names[0]]);
      await late.start();
      await waitForStatus(agents, names, [], 60_000);
    } finally {
      await fleet.close();
      await late.close();
    }
  });

  it('3 cores and 5 replicants (node.role), all registered, form one cluster', async () => {
    const fleet = new Fleet();
    try {
      const names = Array.from({ length: 8 }, (_, i) => `muster@127.0.12.${50 + i}`);
      await formCoresAndReplicants(fleet, names.slice(0, 3), names.slice(3), etcdEnv(etcd.url, { MUSTER_CLUSTER__NAME: 'roles' }));
    } finally {
      await fleet.close();
    }
  });
});
