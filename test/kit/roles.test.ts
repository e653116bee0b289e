import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TerraformStack, TerraformVariable, Testing } from '../../stacks/lib/cdktf';
import { DockerProvider, KubernetesProvider } from '../../stacks/lib/cdktf';
import { MusterCluster, type MusterClusterProps } from '../../stacks/constructs/muster-cluster';
import { MusterK8sCluster, type MusterK8sClusterProps } from '../../stacks/constructs/muster-k8s-cluster';
import { clusterSummary, k8sSummary } from '../../stacks/plan/summary';
import { synthError } from './helpers';

// Core and replicant nodes in the kit: `MusterCluster({ cores, replicants })` on Docker, and a
// replicant Deployment beside the core StatefulSet on Kubernetes. Scaling replicants must replace
// no core: Terraform replaces a container whose env, labels, uploads or networks change.

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function docker(props: Omit<MusterClusterProps, 'cookie'>): { json: Json; summary: string; cluster: MusterCluster } {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'roles');
  new DockerProvider(stack, 'docker', {});
  const cookie = new TerraformVariable(stack, 'cookie', { type: 'string', sensitive: true }).stringValue;
  const c = new MusterCluster(stack, 'c', { ...props, cookie });
  const json = JSON.parse(Testing.synth(stack, true)) as Json;
  return { json, summary: clusterSummary(stack, c), cluster: c };
}

function k8s(props: Omit<MusterK8sClusterProps, 'cookie' | 'image'>): Json {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'k8s');
  new KubernetesProvider(stack, 'kubernetes', {});
  const cookie = new TerraformVariable(stack, 'cookie', { type: 'string', sensitive: true }).stringValue;
  new MusterK8sCluster(stack, 'c', { ...props, cookie, image: 'registry.example.com/muster-node:1' });
  return JSON.parse(Testing.synth(stack, true)) as Json;
}

const containers = (j: Json) => j.resource.docker_container as Record<string, Json>;
const envOf = (c: Json) => Object.fromEntries((c.env as string[]).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
const strip = (r: Record<string, Json>) => Object.fromEntries(Object.entries(r).map(([id, v]) => [id, { ...v, '//': undefined }]));

describe('MusterCluster with cores and replicants (Docker)', () => {
  const base = { clusterName: 'pay', discovery: { strategy: 'static' } } as const;

  it('replicants get node.role = replicant, names and addresses of their own; cores get no role setting', () => {
    const { json } = docker({ ...base, cores: 3, replicants: 2 });
    const all = containers(json);
    const core = Object.values(all).find((c) => c.name === 'pay-node1')!;
    const rep = Object.values(all).find((c) => c.name === 'pay-replicant2')!;
    assert.equal(envOf(core).MUSTER_NODE__ROLE, undefined);
    assert.equal(envOf(rep).MUSTER_NODE__ROLE, 'replicant');
    assert.equal(envOf(rep).MUSTER_NODE__NAME, 'muster@replicant2.pay.internal');
    assert.equal(envOf(rep).MUSTER_CLUSTER__STATIC__SEEDS, envOf(core).MUSTER_CLUSTER__STATIC__SEEDS, 'replicants find the cores through the same seeds');
    assert.match(envOf(core).MUSTER_CLUSTER__STATIC__SEEDS, /node1.*node2.*node3/);
    assert.equal(rep.networks_advanced[0].ipv4_address, '10.28.0.111');
    assert.ok((rep.labels as Json[]).some((l) => l.label === 'muster.role' && l.value === 'replicant'));
    assert.ok(!(core.labels as Json[]).some((l) => l.label === 'muster.role'));
  });

  it('scaling replicants from 2 to 5 and back to 0 changes nothing of the cores', () => {
    const cores = (n: number) => {
      const all = strip(containers(docker({ ...base, cores: 3, replicants: n }).json));
      return Object.fromEntries(Object.entries(all).filter(([, c]) => !String((c as Json).name).includes('replicant')));
    };
    const two = cores(2);
    assert.equal(Object.keys(two).length, 3);
    assert.deepEqual(cores(5), two);
    assert.deepEqual(cores(0), two);
    // `cores` is `nodes` under the name EMQX uses: a cluster declared either way is the same.
    assert.deepEqual(strip(containers(docker({ ...base, nodes: 3 }).json)), strip(containers(docker({ ...base, cores: 3 }).json)));
  });

  it('with DNS discovery the cluster name and SRV records list the cores only; every host has its A record', () => {
    const { cluster } = docker({ clusterName: 'pay', discovery: { strategy: 'dns', recordType: 'srv' }, cores: 3, replicants: 2 });
    const records = cluster.dnsServer!.records;
    assert.ok(records.some((r) => r.name === 'replicant1' && r.type === 'A' && 'address' in r && r.address === '10.28.0.110'), JSON.stringify(records));
    const srv = records.filter((r) => r.type === 'SRV');
    assert.equal(srv.length, 3, JSON.stringify(srv));
    assert.ok(srv.every((r) => /^node\d$/.test(String(r.target))), JSON.stringify(srv));
    const clusterA = records.filter((r) => r.type === 'A' && r.name === 'pay');
    assert.deepEqual(clusterA.map((r) => ('address' in r ? r.address : '')), ['10.28.0.10', '10.28.0.11', '10.28.0.12']);
  });

  it('the plan summary shows each node\'s role', () => {
    const { summary } = docker({ ...base, cores: 3, replicants: 2 });
    assert.match(summary, /3 core node\(s\) and 2 replicant\(s\)/);
    assert.match(summary, /\| `muster@node1\.pay\.internal` \| pay-node1 \| .* \| muster core \|/);
    assert.match(summary, /\| `muster@replicant2\.pay\.internal` \| pay-replicant2 \| .* \| muster replicant \|/);
  });

  it('refuses replicants with manual discovery, cores and nodes together, and replicants that do not fit', () => {
    assert.match(synthError((s, cookie) => new MusterCluster(s, 'c', { cookie, discovery: { strategy: 'manual' }, cores: 2, replicants: 1 })), /replicants: need static, dns or etcd discovery: a replicant finds its cores through discovery, and manual clustering \(cluster join\) is for core nodes only/);
    assert.match(synthError((s, cookie) => new MusterCluster(s, 'c', { cookie, discovery: { strategy: 'static' }, cores: 2, nodes: 2 })), /cores: give cores or nodes \(the same thing\), not both/);
    assert.match(synthError((s, cookie) => new MusterCluster(s, 'c', { cookie, discovery: { strategy: 'static' }, cores: 2, replicants: 150 })), /replicants: 150 replicants do not fit in 10\.28\.0\.0\/24 from host number 110 \(addressPlan\.replicantsFirst\) to 254/);
  });
});

describe('MusterK8sCluster with replicants', () => {
  it('a replicant Deployment: node.role = replicant, named by pod IP, data on an emptyDir, not behind the cores\' Service', () => {
    const j = k8s({ replicas: 3, replicants: 4 });
    const dep = Object.values(j.resource.kubernetes_deployment_v1 as Record<string, Json>)[0];
    assert.equal(dep.metadata.name, 'muster-replicant');
    assert.equal(dep.spec.replicas, '4');
    const c = dep.spec.template.spec.container[0];
    const env = Object.fromEntries((c.env as Json[]).map((e) => [e.name, e.value ?? e.value_from]));
    assert.equal(env.MUSTER_NODE__ROLE, 'replicant');
    assert.equal(env.MUSTER_NODE__NAME, 'muster@$(POD_IP)');
    assert.deepEqual(env.POD_IP, { field_ref: { field_path: 'status.podIP' } });
    assert.equal(env.MUSTER_CLUSTER__DISCOVERY_STRATEGY, 'k8s');
    assert.deepEqual(dep.spec.template.spec.volume, [{ name: 'data', empty_dir: {} }]);
    const svc = Object.values(j.resource.kubernetes_service_v1 as Record<string, Json>)[0];
    const selector = svc.spec.selector as Record<string, string>;
    const podLabels = dep.spec.template.metadata.labels as Record<string, string>;
    assert.ok(Object.entries(selector).some(([k, v]) => podLabels[k] !== v), 'the Service does not select replicant pods: discovery finds the cores');
    assert.equal(c.readiness_probe.http_get.path, '/status/ready');
  });

  it('scaling replicants changes nothing of the StatefulSet, and the plan summary shows both workloads', () => {
    const sts = (n: number) => strip(k8s({ replicas: 3, replicants: n }).resource.kubernetes_stateful_set_v1);
    assert.deepEqual(sts(8), sts(2));
    assert.deepEqual(sts(0), sts(2));
    const md = k8sSummary('k8s', k8s({ replicas: 3, replicants: 4 }));
    assert.match(md, /\*\*3 core pods\*\*/);
    assert.match(md, /Deployment `muster-replicant`: \*\*4 replicant pods\*\*/);
    assert.equal(k8s({ replicas: 3 }).resource.kubernetes_deployment_v1, undefined);
  });
});
