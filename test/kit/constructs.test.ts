import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { AgentImage } from '../../stacks/constructs/agent-image';
import { ClusterNetwork } from '../../stacks/constructs/cluster-network';
import { DnsServer } from '../../stacks/constructs/dns-server';
import { renderNamedConf } from '../../stacks/constructs/dns-zone';
import { EtcdCluster } from '../../stacks/constructs/etcd-cluster';
import { MusterCluster } from '../../stacks/constructs/muster-cluster';
import { MusterNode } from '../../stacks/constructs/muster-node';
import { resources, synth, synthError } from './helpers';

describe('ClusterNetwork', () => {
  it('declares a bridge network with the subnet and hands out addresses deterministically', () => {
    let net!: ClusterNetwork;
    const s = synth((stack) => {
      net = new ClusterNetwork(stack, 'net', { name: 'n1', subnet: '10.9.0.0/24' });
    });
    assert.deepEqual(resources(s, 'docker_network')[0].ipam_config, [{ subnet: '10.9.0.0/24', gateway: '10.9.0.1' }]);
    assert.equal(net.addressAt(10), '10.9.0.10');
    assert.throws(() => net.addressAt(255), /\[test\/net\] host number 255 is outside 10\.9\.0\.0\/24 \(1\.\.254\)/);
  });
  it('can be dual-stack with an IPv6 subnet', () => {
    const s = synth((stack) => new ClusterNetwork(stack, 'net', { name: 'n6', subnet: '10.9.0.0/24', ipv6Subnet: 'fd00:9::/64' }));
    const n = resources(s, 'docker_network')[0];
    assert.equal(n.ipv6, true);
    // Both gateways explicit: an IPv6 one left to Docker comes back after a daemon restart and the
    // provider would plan to replace the network.
    assert.deepEqual(n.ipam_config, [{ subnet: '10.9.0.0/24', gateway: '10.9.0.1' }, { subnet: 'fd00:9::/64', gateway: 'fd00:9::1' }]);
    assert.match(synthError((stack) => new ClusterNetwork(stack, 'net', { name: 'n6', ipv6Subnet: 'fd00::/200' })), /\[test\/net\] ipv6Subnet: must be an IPv6 \/64 written as prefix::\/64/);
  });
  it('refuses a subnet that is not a CIDR, naming the construct path and the field', () => {
    assert.match(synthError((stack) => new ClusterNetwork(stack, 'net', { name: 'n1', subnet: '10.9.0.0' })), /\[test\/net\] subnet: must be an IPv4 CIDR/);
  });
});

describe('AgentImage', () => {
  it('builds node-agent/Dockerfile with the base image as build argument and the context hash as trigger', () => {
    let img!: AgentImage;
    const s = synth((stack) => {
      img = new AgentImage(stack, 'img', { baseImage: 'local/node:20' });
    });
    const image = resources(s, 'docker_image')[0] as { build: { build_args: Record<string, string>; context: string }; triggers: Record<string, string> };
    assert.equal(image.build.build_args.BASE_IMAGE, 'local/node:20');
    assert.equal(image.triggers.context_hash, img.contextHash);
    assert.match(image.build.context, new RegExp(`${img.contextHash}$`));
  });
  it('changes its trigger when the agent changes, and only then', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ctx-'));
    writeFileSync(path.join(dir, 'Dockerfile'), 'FROM x\n');
    writeFileSync(path.join(dir, 'muster.js'), 'console.log(1)\n');
    const hash = () => {
      let h = '';
      synth((stack) => (h = new AgentImage(stack, 'img', { contextPath: dir }).contextHash));
      return h;
    };
    const first = hash();
    assert.equal(hash(), first);
    writeFileSync(path.join(dir, 'muster.js'), 'console.log(2)\n');
    assert.notEqual(hash(), first);
  });
  it('says to run the build when the context is missing', () => {
    assert.match(synthError((stack) => new AgentImage(stack, 'img', { contextPath: '/nonexistent' })), /contextPath: \/nonexistent has no Dockerfile and muster\.js; run "npm run build" first/);
  });
});

describe('DnsServer', () => {
  const records = [
    { name: 'node1', type: 'A' as const, address: '10.9.0.10' },
    { name: 'muster', type: 'A' as const, address: '10.9.0.10' },
    { name: '_muster._tcp', type: 'SRV' as const, port: 4370, target: 'node1' },
  ];
  it('puts named.conf and the zone into a BIND container with upload blocks; both pass named-checkconf/checkzone', () => {
    let dns!: DnsServer;
    const s = synth((stack) => {
      const network = new ClusterNetwork(stack, 'net', { name: 'n1', subnet: '10.9.0.0/24' });
      dns = new DnsServer(stack, 'dns', { network, address: '10.9.0.2', zone: 'cluster.example', records });
    });
    const c = resources(s, 'docker_container')[0] as { upload: { file: string; content: string }[]; command: string[] };
    assert.deepEqual(c.upload.map((u) => u.file), ['/etc/bind/named.conf', '/var/lib/bind/db.cluster.example']);
    assert.equal(c.upload[1].content, dns.zoneFile);
    // Arguments only: ISC's image has ENTRYPOINT ["/usr/sbin/named", "-u", "bind"].
    assert.deepEqual(c.command, ['-g', '-c', '/etc/bind/named.conf']);
    const dir = mkdtempSync(path.join(tmpdir(), 'zone-'));
    writeFileSync(path.join(dir, 'db'), dns.zoneFile);
    writeFileSync(path.join(dir, 'named.conf'), renderNamedConf('cluster.example').replace('/var/lib/bind/db.cluster.example', path.join(dir, 'db')));
    const out = execFileSync('named-checkzone', ['cluster.example', path.join(dir, 'db')], { encoding: 'utf8' });
    assert.match(out, /loaded serial 1\nOK/);
    execFileSync('named-checkconf', [path.join(dir, 'named.conf')]);
  });
  it('refuses an address outside the subnet', () => {
    assert.match(
      synthError((stack) => {
        const network = new ClusterNetwork(stack, 'net', { name: 'n1', subnet: '10.9.0.0/24' });
        new DnsServer(stack, 'dns', { network, address: '10.8.0.2', zone: 'cluster.example', records });
      }),
      /\[test\/dns\] address: 10\.8\.0\.2 is outside the network's subnet 10\.9\.0\.0\/24/,
    );
  });
});

describe('EtcdCluster', () => {
  it('bootstraps its members statically and publishes their client URLs', () => {
    let etcd!: EtcdCluster;
    const s = synth((stack) => {
      const network = new ClusterNetwork(stack, 'net', { name: 'n1', subnet: '10.9.0.0/24' });
      etcd = new EtcdCluster(stack, 'etcd', { network, addresses: ['10.9.0.3', '10.9.0.4', '10.9.0.5'] });
    });
    assert.deepEqual(etcd.endpoints, ['http://10.9.0.3:2379', 'http://10.9.0.4:2379', 'http://10.9.0.5:2379']);
    const cs = resources(s, 'docker_container') as { command: string[] }[];
    assert.equal(cs.length, 3);
    for (const c of cs) assert.ok(c.command.includes('--initial-cluster=etcd0=http://10.9.0.3:2380,etcd1=http://10.9.0.4:2380,etcd2=http://10.9.0.5:2380'));
  });
});

describe('MusterNode', () => {
  it('is a container named by its host, configured only by MUSTER_* variables, with data volume and readiness healthcheck', () => {
    const s = synth((stack, cookie) => {
      const network = new ClusterNetwork(stack, 'net', { name: 'n1', subnet: '10.9.0.0/24' });
      new MusterNode(stack, 'n', { network, nodeName: 'muster@node1.cluster.example', address: '10.9.0.10', imageId: 'sha256:abc', cookie, settings: { 'cluster.discovery_strategy': 'static', 'cluster.static.seeds': ['muster@node1.cluster.example', 'muster@node2.cluster.example'] } });
    });
    const c = resources(s, 'docker_container')[0] as Record<string, unknown> & { env: string[]; labels: { label: string; value: string }[] };
    assert.equal(c.hostname, 'node1.cluster.example');
    assert.deepEqual(c.networks_advanced, [{ name: 'n1', ipv4_address: '10.9.0.10', aliases: ['node1.cluster.example'] }]);
    assert.deepEqual(c.env, [
      'MUSTER_CLUSTER__DISCOVERY_STRATEGY=static',
      'MUSTER_CLUSTER__STATIC__SEEDS=["muster@node1.cluster.example","muster@node2.cluster.example"]',
      'MUSTER_NODE__COOKIE_FILE=/etc/muster/cookie',
      'MUSTER_NODE__NAME=muster@node1.cluster.example',
    ]);
    assert.deepEqual(c.upload, [{ file: '/etc/muster/cookie', content: '${var.cookie}', permissions: '0444' }]);
    assert.deepEqual((c.healthcheck as { test: string[] }).test, ['CMD', 'muster-health']);
    assert.ok(c.labels.some((l) => l.label === 'muster.healthcheck-hash' && /^[0-9a-f]{16}$/.test(l.value)));
    assert.equal(c.restart, 'unless-stopped');
    assert.equal(resources(s, 'docker_volume').length, 1);
  });
  it('refuses a literal cookie and a bad node name, naming the path and the field', () => {
    const build = (nodeName: string, literal: boolean) => (stack: import('constructs').Construct, cookie: string) => {
      const network = new ClusterNetwork(stack, 'net', { name: 'n1', subnet: '10.9.0.0/24' });
      new MusterNode(stack, 'n', { network, nodeName, address: '10.9.0.10', imageId: 'x', cookie: literal ? 'secret' : cookie });
    };
    assert.match(synthError(build('muster@node1.cluster.example', true)), /\[test\/n\] cookie: a literal cookie would be written into the synthesized JSON/);
    assert.match(synthError(build('muster', false)), /\[test\/n\] nodeName: 'muster' must be name@host/);
  });
});

describe('MusterCluster validation at synth time', () => {
  const cases: [string, (c: string) => ConstructorParameters<typeof MusterCluster>[2], RegExp][] = [
    ['a node name that is not name@host', (cookie) => ({ nodes: ['muster@n1.x.internal', 'bad'], discovery: { strategy: 'manual' }, cookie }), /\[test\/c\] nodes\.1: 'bad' must be name@host/],
    ['duplicate names', (cookie) => ({ nodes: ['muster@n1.x.internal', 'muster@n1.x.internal'], discovery: { strategy: 'manual' }, cookie }), /\[test\/c\] nodes\.1: duplicate node name 'muster@n1\.x\.internal'/],
    ['duplicate hosts', (cookie) => ({ nodes: ['a@n1.x.internal', 'b@n1.x.internal'], discovery: { strategy: 'manual' }, cookie }), /\[test\/c\] nodes\.1: duplicate host 'n1\.x\.internal'/],
    ['a static seed that is not a declared node', (cookie) => ({ nodes: 2, discovery: { strategy: 'static', seeds: ['muster@node9.muster.internal'] }, cookie }), /\[test\/c\] discovery\.seeds: 'muster@node9\.muster\.internal' is not a declared node/],
    ['dns without a DnsServer', (cookie) => ({ nodes: 2, discovery: { strategy: 'dns', recordType: 'srv' }, dnsServer: false, cookie }), /\[test\/c\] discovery\.strategy: dns needs a DnsServer/],
    ['etcd without endpoints', (cookie) => ({ nodes: 2, discovery: { strategy: 'etcd', members: 0 }, cookie }), /\[test\/c\] discovery\.endpoints: etcd discovery needs etcd endpoints/],
    ['an etcd endpoint without a scheme', (cookie) => ({ nodes: 2, discovery: { strategy: 'etcd', members: 0, endpoints: ['etcd1:2379'] }, cookie }), /\[test\/c\] discovery\.endpoints\.0: must be an http:\/\/ or https:\/\/ URL/],
    ['an address outside the subnet', (cookie) => ({ nodes: ['muster@n1.x.internal'], addresses: { 'muster@n1.x.internal': '10.1.2.3' }, discovery: { strategy: 'manual' }, cookie }), /address: 10\.1\.2\.3 is outside the network's subnet 10\.28\.0\.0\/24/],
    ['a port out of range', (cookie) => ({ nodes: 2, port: 70000, discovery: { strategy: 'manual' }, cookie }), /\[test\/c\] port: must be 1-65535/],
    ['a node count of 0', (cookie) => ({ nodes: 0, discovery: { strategy: 'manual' }, cookie }), /\[test\/c\] nodes: a cluster needs at least 1 node/],
    ['a cookie wired to a literal', () => ({ nodes: 2, discovery: { strategy: 'manual' }, cookie: 'hunter2' }), /\[test\/c\] cookie: a literal cookie would be written into the synthesized JSON and the plan; wire a sensitive TerraformVariable/],
    ['TLS without a certificate directory', (cookie) => ({ nodes: 2, discovery: { strategy: 'manual' }, transport: { protoDist: 'inet_tls' }, cookie }), /\[test\/c\] transport\.tlsDir: is required with protoDist inet_tls/],
    ['IPv6 without an IPv6 subnet', (cookie) => ({ nodes: 2, discovery: { strategy: 'manual' }, transport: { protoDist: 'inet6_tcp' }, cookie }), /\[test\/c\] network\.ipv6Subnet: is required with protoDist inet6_tcp/],
    ['an unknown strategy', (cookie) => ({ nodes: 2, discovery: { strategy: 'gossip' } as never, cookie }), /\[test\/c\] discovery\.strategy: Invalid discriminator value\. Expected 'manual' \| 'static' \| 'dns' \| 'etcd'/],
  ];
  for (const [what, props, re] of cases) {
    it(what, () => assert.match(synthError((stack, cookie) => new MusterCluster(stack, 'c', props(cookie))), re));
  }
});
