import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { App, TerraformStack, TerraformVariable, Testing } from '../../stacks/lib/cdktf';
import { DockerProvider } from '../../stacks/lib/cdktf';
import { DEFAULT_IMAGES } from '../../stacks/lib/images';
import { MusterCluster, type MusterClusterProps } from '../../stacks/constructs/muster-cluster';
import { synthError } from './helpers';

// What a change to the declared nodes does to the synthesized resources of the others. Terraform
// replaces a container when a ForceNew attribute changes (env, upload, labels, networks_advanced,
// mounts, image); a resource whose construct id changes is destroyed and created anew. So a node
// is left alone exactly when its resources keep their ids and their bodies.

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function synthCluster(props: Omit<MusterClusterProps, 'cookie'>): Json {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'env');
  new DockerProvider(stack, 'docker', {});
  const cookie = new TerraformVariable(stack, 'cookie', { type: 'string', sensitive: true }).stringValue;
  new MusterCluster(stack, 'c', { ...props, cookie });
  return JSON.parse(Testing.synth(stack, true)) as Json;
}

/** Every resource of a type by its construct id, without the metadata comment. */
function byId(j: Json, type: string): Record<string, Json> {
  return Object.fromEntries(Object.entries((j.resource[type] ?? {}) as Record<string, Json>).map(([id, r]) => [id, { ...r, '//': undefined }]));
}

const A = 'muster@alpha.pay.internal';
const B = 'muster@bravo.pay.internal';
const C = 'muster@charlie.pay.internal';
const D = 'muster@delta.pay.internal';

describe('a node is its name: removing or adding a node leaves the others as they are', () => {
  for (const strategy of ['static', 'dns', 'etcd', 'manual'] as const) {
    // Static seeds are pinned to a node that stays: removing a seed changes every node's seed list
    // (and so replaces them), as the README's table says; removing any other node does not.
    const discovery =
      strategy === 'dns' ? ({ strategy, recordType: 'srv' } as const) : strategy === 'static' ? ({ strategy, seeds: [A] } as const) : ({ strategy } as const);
    it(`${strategy}: [a, b, c] to [a, c] changes nothing of a and c and removes only b`, () => {
      const before = synthCluster({ clusterName: 'pay', nodes: [A, B, C], discovery });
      const after = synthCluster({ clusterName: 'pay', nodes: [A, C], discovery });
      for (const type of ['docker_container', 'docker_volume']) {
        const was = byId(before, type);
        const now = byId(after, type);
        const gone = Object.keys(was).filter((id) => !(id in now));
        assert.ok(gone.every((id) => id.includes('bravo')), `${type}: only bravo's resources go (${gone.join(', ')})`);
        assert.ok(gone.length >= 1);
        for (const id of Object.keys(now)) {
          if (id.includes('-dns') || id.includes('dns_')) continue; // the DNS server's zone lists the nodes
          assert.deepEqual(now[id], was[id], `${type}.${id} is unchanged`);
        }
      }
    });
    it(`${strategy}: adding a node replaces no running node`, () => {
      const before = synthCluster({ clusterName: 'pay', nodes: [A, B, C], discovery });
      const after = synthCluster({ clusterName: 'pay', nodes: [A, B, C, D], discovery });
      const was = byId(before, 'docker_container');
      const now = byId(after, 'docker_container');
      for (const id of Object.keys(was).filter((i) => !i.includes('dns'))) assert.deepEqual(now[id], was[id], `${id} is unchanged`);
      assert.equal(Object.keys(now).length, Object.keys(was).length + 1);
    });
  }

  it('counted nodes: 3 to 4 replaces none of the first three (static seeds are a stable subset)', () => {
    const before = byId(synthCluster({ clusterName: 'pay', nodes: 3, discovery: { strategy: 'static' } }), 'docker_container');
    const after = byId(synthCluster({ clusterName: 'pay', nodes: 4, discovery: { strategy: 'static' } }), 'docker_container');
    for (const id of Object.keys(before)) assert.deepEqual(after[id], before[id], id);
    const seeds = (after[Object.keys(after).find((k) => k.includes('node4'))!].env as string[]).find((e) => e.startsWith('MUSTER_CLUSTER__STATIC__SEEDS='));
    assert.equal(seeds, 'MUSTER_CLUSTER__STATIC__SEEDS=["muster@node1.pay.internal","muster@node2.pay.internal","muster@node3.pay.internal"]');
  });

  it('static with default seeds: the seeds are the first three declared; removing a fourth changes no other node', () => {
    const before = byId(synthCluster({ clusterName: 'pay', nodes: [A, B, C, D], discovery: { strategy: 'static' } }), 'docker_container');
    const after = byId(synthCluster({ clusterName: 'pay', nodes: [A, B, C], discovery: { strategy: 'static' } }), 'docker_container');
    for (const id of Object.keys(after)) assert.deepEqual(after[id], before[id], id);
  });

  it('a node keeps its container, volume and address by name', () => {
    const j = synthCluster({ clusterName: 'pay', nodes: [A, C], discovery: { strategy: 'manual' } });
    const c = Object.values(j.resource.docker_container as Record<string, Json>).find((x) => x.hostname === 'charlie.pay.internal')!;
    assert.equal(c.name, 'pay-charlie');
    const ref = /^\$\{docker_volume\.([^.]+)\.name\}$/.exec(c.volumes[0].volume_name);
    assert.ok(ref, c.volumes[0].volume_name);
    assert.equal(j.resource.docker_volume[ref[1]].name, 'pay-charlie-data');
    assert.equal(c.volumes[0].container_path, '/var/lib/muster');
  });

  it('two names that hash to one address fail synth, naming both and the way out', () => {
    // Search a pair that collides in a /28 (host numbers 10..14: 5 slots) rather than hard-code one.
    const names = Array.from({ length: 8 }, (_, i) => `muster@n${i}.pay.internal`);
    const msg = synthError((stack, cookie) => new MusterCluster(stack, 'c', { clusterName: 'pay', nodes: names, network: { subnet: '10.9.0.0/28' }, discovery: { strategy: 'manual' }, cookie }));
    assert.match(msg, /\[test\/c\] addresses: muster@n\d\.pay\.internal and muster@n\d\.pay\.internal both get 10\.9\.0\.1[0-4]; give one of them a fixed address in `addresses`/);
  });
});

describe('node containers stop in order and deploy returns when ready', () => {
  it('destroy_grace_seconds, must_run and wait on the readiness healthcheck', () => {
    const j = synthCluster({ clusterName: 'pay', nodes: 2, discovery: { strategy: 'manual' } });
    for (const c of Object.values(j.resource.docker_container as Record<string, Json>)) {
      assert.equal(c.destroy_grace_seconds, 10, 'SIGTERM, then 10 s: the peers see it stopped, not lost');
      assert.equal(c.must_run, true);
      assert.equal(c.wait, true);
      assert.equal(c.wait_timeout, 120);
      assert.deepEqual(c.healthcheck.test, ['CMD', 'muster-health']);
      assert.ok(!(c.env as string[]).some((e) => e.startsWith('MUSTER_CLUSTER__READY_MIN_NODES=')), 'manual: a node alone is ready; join after deploy');
    }
  });
  it('with autocluster, ready means the nodes found each other (ready_min_nodes 2), the same however many nodes', () => {
    for (const n of [2, 3, 7]) {
      const j = synthCluster({ clusterName: 'pay', nodes: n, discovery: { strategy: 'static' } });
      for (const c of Object.values(j.resource.docker_container as Record<string, Json>)) assert.ok((c.env as string[]).includes('MUSTER_CLUSTER__READY_MIN_NODES=2'), `${n} nodes`);
    }
    const one = synthCluster({ clusterName: 'pay', nodes: 1, discovery: { strategy: 'static' } });
    assert.ok(!(Object.values(one.resource.docker_container as Record<string, Json>)[0].env as string[]).some((e) => e.includes('READY_MIN_NODES')));
    assert.match(
      synthError((stack, cookie) => new MusterCluster(stack, 'c', { nodes: 3, readyMinNodes: 4, discovery: { strategy: 'static' }, cookie })),
      /\[test\/c\] readyMinNodes: 4 is more than the 3 declared node\(s\)/,
    );
    assert.match(synthError((stack, cookie) => new MusterCluster(stack, 'c', { nodes: 3, readyMinNodes: 2, discovery: { strategy: 'manual' }, cookie })), /\[test\/c\] readyMinNodes: must be 1 with manual discovery/);
  });
});

describe('images', () => {
  it('the Dockerfile\'s BASE_IMAGE default is the kit\'s, a supported Node.js LTS', () => {
    const dockerfile = readFileSync(path.resolve(__dirname, '../../node-agent/Dockerfile'), 'utf8');
    assert.equal(/^ARG BASE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1], DEFAULT_IMAGES.nodeBase);
    assert.doesNotMatch(DEFAULT_IMAGES.nodeBase, /^node:(1\d|20|21|23|25)\b/, 'not an end-of-life or odd (non-LTS) line');
  });
  it('two stacks on one host never share the node image\'s tag', () => {
    const app = new App({ outdir: Testing.app().outdir });
    const names = ['one', 'two'].map((id) => {
      const stack = new TerraformStack(app, id);
      new DockerProvider(stack, 'docker', {});
      const cookie = new TerraformVariable(stack, 'cookie', { type: 'string', sensitive: true }).stringValue;
      return new MusterCluster(stack, 'c', { clusterName: 'pay', nodes: 1, discovery: { strategy: 'manual' }, cookie }).imageName;
    });
    assert.notEqual(names[0], names[1]);
    assert.match(names[0], /^pay-node:one-[0-9a-f]{12}$/);
  });
});
