import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { AgentImage } from '../../stacks/constructs/agent-image';
import { ClusterNetwork } from '../../stacks/constructs/cluster-network';
import { DnsServer } from '../../stacks/constructs/dns-server';
import { MusterCluster } from '../../stacks/constructs/muster-cluster';
import { KitValidationError } from '../../stacks/lib/problems';
import { resources, synth, synthError } from './helpers';

// Constructs a second team composes: bring your own network, DNS server and image; two clusters
// in one stack; typed agent settings.

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const srv = { strategy: 'dns', recordType: 'srv' } as const;

describe('two clusters share one network, one DNS server and one image', () => {
  it('in a few lines, with one zone holding both clusters\' records', () => {
    let dns!: DnsServer;
    const s = synth((stack, cookie) => {
      const network = new ClusterNetwork(stack, 'net', { name: 'apps', subnet: '10.50.0.0/24' });
      dns = new DnsServer(stack, 'dns', { network, address: network.addressAt(2), zone: 'apps.internal' });
      const image = new AgentImage(stack, 'image');
      new MusterCluster(stack, 'payments', { clusterName: 'payments', nodes: 3, network, dnsServer: dns, image, discovery: srv, cookie });
      new MusterCluster(stack, 'orders', { clusterName: 'orders', nodes: 2, network, dnsServer: dns, image, addressPlan: { nodesFirst: 100 }, discovery: srv, cookie });
    });
    assert.equal(resources(s, 'docker_network').length, 1);
    assert.equal(resources(s, 'docker_image').filter((i) => i.build).length, 1, 'one image built');
    const containers = resources(s, 'docker_container') as Json[];
    assert.equal(containers.length, 6, '5 nodes and one DNS server');
    const addresses = containers.map((c) => c.networks_advanced[0].ipv4_address);
    assert.equal(new Set(addresses).size, addresses.length, `distinct addresses: ${addresses.join(', ')}`);
    const env = (name: string) => Object.fromEntries((containers.find((c) => c.name === name)!.env as string[]).map((e) => e.split(/=(.*)/s).slice(0, 2)));
    assert.equal(env('payments-node1').MUSTER_CLUSTER__DNS__NAME, '_muster._tcp.payments.apps.internal');
    assert.equal(env('orders-node1').MUSTER_CLUSTER__DNS__NAME, '_muster._tcp.orders.apps.internal');
    assert.equal(env('orders-node1').MUSTER_CLUSTER__DNS__SERVERS, '["10.50.0.2:53"]');
    // The zone, rendered once both clusters added their records, is valid for BIND.
    const zone = (containers.find((c) => c.upload)!.upload as Json[]).find((u) => u.file.endsWith('db.apps.internal'))!.content as string;
    assert.equal(zone, dns.zoneFile);
    assert.match(zone, /^_muster\._tcp\.payments\tIN\tSRV\t10 10 4370 node1\.payments$/m);
    assert.match(zone, /^_muster\._tcp\.orders\tIN\tSRV\t10 10 4370 node2\.orders$/m);
    const dir = mkdtempSync(path.join(tmpdir(), 'zone-'));
    writeFileSync(path.join(dir, 'db'), zone);
    assert.match(execFileSync('named-checkzone', ['apps.internal', path.join(dir, 'db')], { encoding: 'utf8' }), /OK/);
  });

  it('a prebuilt image from a registry is pulled, not built', () => {
    const s = synth((stack, cookie) => new MusterCluster(stack, 'c', { nodes: 1, image: 'registry.example.com/muster-node:0.1.0', discovery: { strategy: 'manual' }, cookie }));
    const images = resources(s, 'docker_image') as Json[];
    assert.deepEqual(images.map((i) => [i.name, i.build]), [['registry.example.com/muster-node:0.1.0', undefined]]);
    assert.match((resources(s, 'docker_container')[0] as Json).image, /^\$\{docker_image\.c_node-image_[0-9A-F]+\.image_id\}$/);
  });
});

describe('what cannot be composed fails synth, naming both sides', () => {
  it('two clusters of one name in a stack', () => {
    const msg = synthError((stack, cookie) => {
      new MusterCluster(stack, 'a', { clusterName: 'pay', nodes: 1, network: { name: 'a-net', subnet: '10.1.0.0/24' }, discovery: { strategy: 'manual' }, cookie });
      new MusterCluster(stack, 'b', { clusterName: 'pay', nodes: 1, network: { name: 'b-net', subnet: '10.2.0.0/24' }, discovery: { strategy: 'manual' }, cookie });
    });
    assert.match(msg, /\[test\/b\] clusterName: 'pay' is also the name of test\/a in this stack/);
  });
  it('two networks of one name in a stack', () => {
    const msg = synthError((stack, cookie) => {
      new MusterCluster(stack, 'a', { clusterName: 'a', nodes: 1, network: { name: 'shared', subnet: '10.1.0.0/24' }, discovery: { strategy: 'manual' }, cookie });
      new MusterCluster(stack, 'b', { clusterName: 'b', nodes: 1, network: { name: 'shared', subnet: '10.2.0.0/24' }, discovery: { strategy: 'manual' }, cookie });
    });
    assert.match(msg, /name: network shared is declared twice in this stack \(also test\/a\/network\)/);
  });
  it('two clusters on one network with the same node addresses', () => {
    const msg = synthError((stack, cookie) => {
      const network = new ClusterNetwork(stack, 'net', { name: 'apps', subnet: '10.50.0.0/24' });
      new MusterCluster(stack, 'a', { clusterName: 'a', nodes: 2, network, discovery: { strategy: 'manual' }, cookie });
      new MusterCluster(stack, 'b', { clusterName: 'b', nodes: 2, network, discovery: { strategy: 'manual' }, cookie });
    });
    assert.match(msg, /address 10\.50\.0\.10 on network apps is used by test\/a\/a-node1 and test\/b\/b-node1/);
  });
  it('a node at the DNS server\'s address', () => {
    const msg = synthError((stack, cookie) =>
      new MusterCluster(stack, 'c', { nodes: ['muster@a.x.internal'], domain: 'x.internal', addresses: { 'muster@a.x.internal': '10.28.0.2' }, discovery: srv, cookie }),
    );
    assert.match(msg, /address 10\.28\.0\.2 on network muster-net is used by test\/c\/dns and test\/c\/muster-a/);
  });
  it('a node at the gateway address', () => {
    const msg = synthError((stack, cookie) =>
      new MusterCluster(stack, 'c', { nodes: ['muster@n1.x.internal'], addresses: { 'muster@n1.x.internal': '10.28.0.1' }, discovery: { strategy: 'manual' }, cookie }),
    );
    assert.match(msg, /address 10\.28\.0\.1 on network muster-net is used by the gateway and test\/c\/muster-n1/);
  });
  it('a domain outside the shared DNS server\'s zone', () => {
    const msg = synthError((stack, cookie) => {
      const network = new ClusterNetwork(stack, 'net', { name: 'apps', subnet: '10.50.0.0/24' });
      const dns = new DnsServer(stack, 'dns', { network, address: network.addressAt(2), zone: 'apps.internal' });
      new MusterCluster(stack, 'c', { nodes: 1, network, dnsServer: dns, domain: 'other.example', discovery: srv, cookie });
    });
    assert.match(msg, /\[test\/c\] domain: other\.example is not in the zone apps\.internal of the DnsServer test\/dns/);
  });
});

describe('agent settings pass through typed', () => {
  it('log level, autoheal, autoclean and the failure detector reach every node', () => {
    const s = synth((stack, cookie) =>
      new MusterCluster(stack, 'c', {
        nodes: 2,
        discovery: { strategy: 'static' },
        agentSettings: { 'log.level': 'debug', 'cluster.autoheal': false, 'cluster.autoclean': '1h', 'cluster.failure_detector.probe_timeout': '2s' },
        cookie,
      }),
    );
    for (const c of resources(s, 'docker_container') as Json[]) {
      for (const e of ['MUSTER_LOG__LEVEL=debug', 'MUSTER_CLUSTER__AUTOHEAL=false', 'MUSTER_CLUSTER__AUTOCLEAN=1h', 'MUSTER_CLUSTER__FAILURE_DETECTOR__PROBE_TIMEOUT=2s']) {
        assert.ok((c.env as string[]).includes(e), `${c.name}: ${e}`);
      }
    }
  });
  it('a bad value fails synth by the agent\'s rule; a key the kit owns is refused with the prop to use', () => {
    assert.match(
      synthError((stack, cookie) => new MusterCluster(stack, 'c', { nodes: 1, discovery: { strategy: 'manual' }, agentSettings: { 'log.level': 'loud' }, cookie })),
      /\[test\/c\/muster-node1\] agent settings: log\.level \(from MUSTER_LOG__LEVEL\): 'loud' is not allowed; allowed: debug \| info \| warn \| error/,
    );
    assert.match(
      synthError((stack, cookie) => new MusterCluster(stack, 'c', { nodes: 1, discovery: { strategy: 'manual' }, agentSettings: { 'cluster.static.seeds': ['x'] }, cookie })),
      /\[test\/c\] agentSettings\.cluster\.static\.seeds: is set by the kit from the props \(cluster\.static\.\*\): use those, not agentSettings/,
    );
  });
});

describe('more mistakes synth catches', () => {
  it('a cookie from a variable that is not sensitive, or from anything but a variable', async () => {
    const { TerraformVariable, Fn } = await import('../../stacks/lib/cdktf');
    assert.match(
      synthError((stack) => {
        const plain = new TerraformVariable(stack, 'plain_cookie', { type: 'string' }).stringValue;
        new MusterCluster(stack, 'c', { nodes: 1, discovery: { strategy: 'manual' }, cookie: plain });
      }),
      /\[test\/c\] cookie: the variable 'plain_cookie' is not sensitive, so the plan would print the cookie/,
    );
    assert.match(
      synthError((stack) => new MusterCluster(stack, 'c', { nodes: 1, discovery: { strategy: 'manual' }, cookie: Fn.lower('Hunter2') })),
      /\[test\/c\] cookie: must be exactly a sensitive TerraformVariable's value, not \$\{lower\("Hunter2"\)\}/,
    );
  });
  it('overlapping subnets in one stack', () => {
    const msg = synthError((stack, cookie) => {
      new MusterCluster(stack, 'a', { clusterName: 'a', nodes: 1, network: { subnet: '10.60.0.0/16' }, discovery: { strategy: 'manual' }, cookie });
      new MusterCluster(stack, 'b', { clusterName: 'b', nodes: 1, network: { subnet: '10.60.5.0/24' }, discovery: { strategy: 'manual' }, cookie });
    });
    assert.match(msg, /subnet: 10\.60\.5\.0\/24 overlaps 10\.60\.0\.0\/16 of test\/a\/network/);
  });
  it('a node host outside the DNS server\'s zone', () => {
    const msg = synthError((stack, cookie) => new MusterCluster(stack, 'c', { clusterName: 'pay', nodes: ['muster@n1.elsewhere.example'], discovery: srv, cookie }));
    assert.match(msg, /nodes: muster@n1\.elsewhere\.example's host is outside the zone pay\.internal of its DNS server/);
  });
  it('an unknown or misspelled prop, at any level', () => {
    assert.match(
      synthError((stack, cookie) => new MusterCluster(stack, 'c', { nodes: 2, discovery: { strategy: 'static', seed: ['x'] } as never, cookie })),
      /\[test\/c\] discovery: Unrecognized key: "seed"/,
    );
    assert.match(synthError((stack, cookie) => new MusterCluster(stack, 'c', { nodes: 2, discovery: { strategy: 'manual' }, nodeCount: 3, cookie } as never)), /\[test\/c\] \(props\): Unrecognized key: "nodeCount"/);
  });
});

describe('every bad construct is reported at once, with one error type', () => {
  const k8s = async () => (await import('../../stacks/constructs/muster-k8s-cluster')).MusterK8sCluster;
  const failure = (fn: Parameters<typeof synth>[0]): KitValidationError => {
    try {
      synth(fn);
    } catch (e) {
      assert.ok(e instanceof KitValidationError, `a KitValidationError, not ${(e as Error).name}: ${(e as Error).message}`);
      return e;
    }
    throw new Error('expected synth to fail');
  };
  it('prop errors in two clusters, a cross-construct rule and a Kubernetes cluster, each once, in construct order', async () => {
    const MusterK8sCluster = await k8s();
    const e = failure((stack, cookie) => {
      new MusterCluster(stack, 'a', { clusterName: 'a', nodes: 0, network: { subnet: '10.61.0.0/24' }, discovery: { strategy: 'static', seeds: ['muster@x.a.internal'] }, cookie });
      new MusterCluster(stack, 'b', { clusterName: 'b', nodes: 2, network: { subnet: '10.62.0.0/24' }, port: 70000, discovery: { strategy: 'manual' }, cookie: 'literal' });
      new MusterCluster(stack, 'c', { clusterName: 'c', nodes: 1, network: { name: 'a-net', subnet: '10.63.0.0/24' }, discovery: { strategy: 'manual' }, cookie });
      new MusterK8sCluster(stack, 'k', { replicas: 3, maxUnavailable: 3, image: '', cookie });
    });
    assert.deepEqual(
      e.problems.map((p) => `[${p.path}] ${p.message.replace(/:.*/, '')}`),
      ['[test/a] nodes', '[test/b] port', '[test/b] cookie', '[test/c/network] name', '[test/k] image', '[test/k] maxUnavailable'],
      e.message,
    );
    // Cluster a's fallbacks (it was built on to reach the others) add nothing: no "seed is not a declared node".
    assert.doesNotMatch(e.message, /seeds/);
    assert.match(e.message, /^6 problems in the Muster constructs; nothing was synthesized:\n {2}\[test\/a\] nodes: a cluster needs at least 1 node/);
  });
  it('a construct that cannot be built at all stops there, listing what was found before it', () => {
    const e = failure((stack, cookie) => {
      new MusterCluster(stack, 'a', { clusterName: 'a', nodes: 1, port: 0, discovery: { strategy: 'manual' }, cookie });
      new AgentImage(stack, 'image', { contextPath: '/nonexistent/image' });
    });
    assert.deepEqual(e.problems.map((p) => p.path), ['test/a', 'test/image']);
    assert.match(e.message, /building stopped at test\/image/);
    assert.match(e.message, /contextPath: \/nonexistent\/image has no Dockerfile/);
  });
});

describe('data volumes: a removal policy', () => {
  it('destroy (the default) makes each volume a resource; retain leaves it to Docker, so no plan deletes it', () => {
    const destroy = synth((stack, cookie) => new MusterCluster(stack, 'c', { nodes: 2, discovery: { strategy: 'manual' }, cookie }));
    assert.equal(resources(destroy, 'docker_volume').length, 2);
    const retain = synth((stack, cookie) => new MusterCluster(stack, 'c', { nodes: 2, discovery: { strategy: 'manual' }, dataRemovalPolicy: 'retain', cookie }));
    assert.equal(resources(retain, 'docker_volume').length, 0);
    assert.deepEqual((resources(retain, 'docker_container') as Json[]).map((c) => c.volumes[0].volume_name).sort(), ['muster-node1-data', 'muster-node2-data']);
  });
});

describe('MusterK8sCluster', () => {
  const k8s = async () => (await import('../../stacks/constructs/muster-k8s-cluster')).MusterK8sCluster;
  it('a StatefulSet with resources, probe timeouts, a disruption budget and a cookie checksum that rolls the pods', async () => {
    const MusterK8sCluster = await k8s();
    let names: string[] = [];
    const { KubernetesProvider } = await import('../../stacks/lib/cdktf');
    const s = synth((stack, cookie) => {
      new KubernetesProvider(stack, 'kubernetes', {});
      names = new MusterK8sCluster(stack, 'c', { name: 'pay', namespace: 'team-a', replicas: 5, image: 'registry.example.com/muster-node:0.1.0', clusterDomain: 'corp.local', cookie }).nodeNames;
    });
    assert.equal(names[4], 'muster@pay-4.pay.team-a.svc.corp.local');
    const sts = Object.values(s.resource.kubernetes_stateful_set_v1)[0] as Json;
    assert.equal(sts.spec.replicas, '5');
    const tpl = sts.spec.template;
    assert.equal(tpl.metadata.annotations['muster.io/cookie-checksum'], '${sha256(var.cookie)}');
    const c = tpl.spec.container[0];
    assert.deepEqual(c.resources, { requests: { cpu: '100m', memory: '96Mi' }, limits: { memory: '256Mi' } });
    assert.equal(c.readiness_probe.timeout_seconds, 2, 'explicit, above the 1 s default: a pod starved of CPU for a moment is not failed');
    assert.equal(c.liveness_probe.timeout_seconds, 2);
    const env = Object.fromEntries((c.env as Json[]).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
    assert.equal(env.MUSTER_CLUSTER__K8S__SUFFIX, 'svc.corp.local');
    assert.equal(env.MUSTER_CLUSTER__K8S__NAMESPACE, 'team-a');
    assert.equal(env.MUSTER_CLUSTER__READY_MIN_NODES, '2', 'a rolling update waits for the replaced pod to rejoin');
    const pdb = Object.values(s.resource.kubernetes_pod_disruption_budget_v1)[0] as Json;
    assert.equal(pdb.spec.max_unavailable, '1');
    assert.deepEqual(pdb.spec.selector.match_labels, sts.spec.selector.match_labels);
  });
  it('probes follow the agent\'s HTTP listener: its port from agentSettings, exec probes when it is off', async () => {
    const MusterK8sCluster = await k8s();
    const { KubernetesProvider } = await import('../../stacks/lib/cdktf');
    const container = (agentSettings: Record<string, unknown>) => {
      const s = synth((stack, cookie) => {
        new KubernetesProvider(stack, 'kubernetes', {});
        new MusterK8sCluster(stack, 'c', { image: 'registry.example.com/muster-node:0.1.0', cookie, agentSettings });
      });
      const sts = Object.values(s.resource.kubernetes_stateful_set_v1)[0] as Json;
      return { c: sts.spec.template.spec.container[0], annotations: sts.spec.template.metadata.annotations };
    };
    const custom = container({ 'http.port': 9100 });
    assert.deepEqual(custom.c.port.map((p: Json) => [p.name, p.container_port]), [['cluster', 4370], ['http', 9100]]);
    assert.equal(custom.c.readiness_probe.http_get.port, 'http');
    assert.equal(custom.annotations['prometheus.io/port'], '9100');
    const off = container({ 'http.enable': false });
    assert.deepEqual(off.c.readiness_probe.exec.command, ['muster-health'], 'the image\'s healthcheck, which falls back to muster ctl');
    assert.deepEqual(off.c.liveness_probe.exec.command, ['muster', 'ctl', 'ping']);
    assert.equal(off.c.readiness_probe.timeout_seconds, 5, 'a Node.js process per probe: more time');
    assert.deepEqual(off.c.port.map((p: Json) => p.name), ['cluster']);
    assert.equal(off.annotations['prometheus.io/scrape'], undefined, 'nothing to scrape');
    const loopback = container({ 'http.bind': '127.0.0.1' });
    assert.deepEqual(loopback.c.readiness_probe.exec.command, ['muster-health'], 'a listener on loopback is for the node itself: the kubelet cannot reach it');
    const all = container({});
    const env = Object.fromEntries((all.c.env as Json[]).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
    assert.equal(env.MUSTER_HTTP__BIND, '0.0.0.0', 'every interface of the pod, as EMQX binds its dashboard: probes and port-forward both reach it');
  });

  it('Docker: each node\'s status and metrics URL as outputs, on its address and the listener\'s port', async () => {
    const { MusterDockerStack } = await import('../../stacks/stacks/docker-stack');
    const { Testing } = await import('../../stacks/lib/cdktf');
    const stack = new MusterDockerStack(Testing.app(), 'urls', { discovery: { strategy: 'static' }, nodes: 2, clusterName: 'urls', subnet: '10.61.0.0/24' });
    const out = JSON.parse(Testing.synth(stack)).output;
    const names = ['muster@node1.urls.internal', 'muster@node2.urls.internal'];
    assert.deepEqual(out.status_urls.value, Object.fromEntries(names.map((n, i) => [n, `http://10.61.0.${10 + i}:18083/status`])));
    assert.deepEqual(out.metrics_urls.value, Object.fromEntries(names.map((n, i) => [n, `http://10.61.0.${10 + i}:18083/metrics`])));
  });

  it('refuses bad replicas, names and budgets, naming the field', async () => {
    const MusterK8sCluster = await k8s();
    const image = 'registry.example.com/muster-node:0.1.0';
    assert.match(synthError((stack, cookie) => new MusterK8sCluster(stack, 'c', { replicas: 0, image, cookie })), /\[test\/c\] replicas: must be at least 1/);
    assert.match(synthError((stack, cookie) => new MusterK8sCluster(stack, 'c', { name: 'Pay_1', image, cookie })), /\[test\/c\] name: must be a DNS-1035 label/);
    assert.match(synthError((stack, cookie) => new MusterK8sCluster(stack, 'c', { replicas: 3, maxUnavailable: 3, image, cookie })), /\[test\/c\] maxUnavailable: 3 would let a drain stop all 3 pods at once/);
    assert.match(synthError((stack, cookie) => new MusterK8sCluster(stack, 'c', { image, cookie, storage: { size: 'big' } })), /\[test\/c\] storage\.size: must be a Kubernetes quantity/);
    assert.match(
      synthError((stack, cookie) => new MusterK8sCluster(stack, 'c', { image, cookie, agentSettings: { 'cluster.failure_detector.probe_timeout': '5ms' } })),
      /agent settings: cluster\.failure_detector\.probe_timeout .*'5ms' is too short: at least 200ms/,
    );
  });
});

describe('a TLS directory given as a path is checked at synth', () => {
  it('a node host without its folder or files fails, naming what is missing; a complete one passes', async () => {
    const { mkdirSync } = await import('node:fs');
    const dir = mkdtempSync(path.join(tmpdir(), 'tls-'));
    const props = (cookie: string) => ({ nodes: ['muster@n1.x.internal'], domain: 'x.internal', discovery: { strategy: 'manual' } as const, transport: { protoDist: 'inet_tls' as const, tlsDir: dir }, cookie });
    assert.match(synthError((stack, cookie) => new MusterCluster(stack, 'c', props(cookie))), new RegExp(`\\[test/c/muster-n1\\] tlsDir: ${dir}/n1\\.x\\.internal/ca\\.crt, .*tls\\.key missing`));
    mkdirSync(path.join(dir, 'n1.x.internal'));
    for (const f of ['ca.crt', 'tls.crt', 'tls.key']) writeFileSync(path.join(dir, 'n1.x.internal', f), 'pem');
    synth((stack, cookie) => new MusterCluster(stack, 'c', props(cookie)));
  });
});

describe('a cluster on a Docker provider of its own', () => {
  it('every resource it makes uses that provider; a shared network on another provider is refused', async () => {
    const { DockerProvider } = await import('../../stacks/lib/cdktf');
    const s = synth((stack, cookie) => {
      const other = new DockerProvider(stack, 'docker-b', { alias: 'b' });
      new MusterCluster(stack, 'c', { nodes: 2, discovery: srv, provider: other, cookie });
    });
    const all = Object.values(s.resource).flatMap((byId) => Object.values(byId)) as Json[];
    assert.ok(all.length >= 7);
    for (const r of all) assert.equal(r.provider, 'docker.b');
    assert.match(
      synthError((stack, cookie) => {
        const other = new DockerProvider(stack, 'docker-b', { alias: 'b' });
        const network = new ClusterNetwork(stack, 'net', { name: 'apps', subnet: '10.50.0.0/24' });
        new MusterCluster(stack, 'c', { nodes: 1, network, discovery: { strategy: 'manual' }, provider: other, cookie });
      }),
      /\[test\/c\] network: test\/net is on another Docker provider than this cluster; give both the same provider/,
    );
  });
});
