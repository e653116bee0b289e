import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MusterDockerStackProps } from '../../stacks/stacks/docker-stack';
import { StackApplier, type Change } from './applier';
import { assertPlansEmpty, containerId, converge, ctl, describe as describeChanges, docker, healthCheckPath, synthStack, VARS } from './helpers';
import { ensureStandInImages, STANDIN } from './standin-images';

// What each change to a deployed stack does to its running nodes, measured on a real engine with
// the test applier (Terraform's plan and apply, kreuzwerker/docker v3.6.2's rules). The README's
// table "What each change does to running nodes" is these results.

const A = 'muster@alpha.change.internal';
const B = 'muster@bravo.change.internal';
const C = 'muster@charlie.change.internal';
const D = 'muster@delta.change.internal';
const container = (n: string) => `change-${n.split('@')[1].split('.')[0]}`;

const props = (nodes: string[]): MusterDockerStackProps => ({
  clusterName: 'change',
  subnet: '10.28.9.0/24',
  nodes,
  discovery: { strategy: 'dns', recordType: 'srv' },
});

const addresses = (changes: Change[], action: Change['action']) => changes.filter((c) => c.action === action).map((c) => c.address);
/** The zone changed, so the BIND container is replaced (its files are uploads: ForceNew); nothing else is. */
function assertOnlyDnsReplaced(plan: Change[]): void {
  const replaced = plan.filter((c) => c.action === 'replace' || c.action === 'update');
  assert.deepEqual(replaced.map((c) => c.address.replace(/_[0-9A-F]{8}$/, '')), ['docker_container.cluster_dns_container'], describeChanges(plan));
  assert.match(replaced[0].reasons.join(), /upload: .*\(forces replacement\)/);
}
const nodeResources = (changes: Change[], n: string) => changes.filter((c) => c.address.includes(`_${container(n)}_`));

describe('what each change does to running nodes', { timeout: 900_000 }, () => {
  const statePath = path.join(mkdtempSync(path.join(tmpdir(), 'muster-state-')), 'state.json');
  const results: string[] = [];
  let vars: Record<string, string> = { ...VARS };
  const applier = (nodes: string[]) => new StackApplier(synthStack('change', props(nodes)), vars, { statePath });
  let last: StackApplier | undefined;

  before(async () => {
    docker('info', '--format', '{{.ServerVersion}}');
    ensureStandInImages();
    last = applier([A, B, C]);
    await last.apply();
    await converge([A, B, C].map(container), [A, B, C]);
    assert.equal(ctl(container(A), 'data', 'put', 'kept', 'yes').code, 0);
  });
  after(async () => {
    console.log(`changes: ${results.join('; ')}`);
    await last?.destroy();
  });

  it('removing a node from the middle deletes only that node, which stops in order; the others are untouched', async () => {
    const ids = [A, C].map((n) => containerId(container(n)));
    last = applier([A, C]);
    const plan = await last.plan();
    // Only bravo's container and volume go; the DNS server is replaced with the new zone.
    assert.deepEqual(addresses(plan, 'delete').sort(), nodeResources(plan, B).map((c) => c.address).sort(), describeChanges(plan));
    assert.equal(nodeResources(plan, B).length, 2, 'its container and its data volume');
    assert.deepEqual([...nodeResources(plan, A), ...nodeResources(plan, C)], [], describeChanges(plan));
    assertOnlyDnsReplaced(plan);
    const t0 = Date.now();
    await last.apply();
    results.push(`remove a node: apply ${Date.now() - t0} ms`);
    assert.deepEqual([A, C].map((n) => containerId(container(n))), ids, 'alpha and charlie are the same containers');
    await converge([A, C].map(container), [A, C], [B]);
    // Its peers saw an orderly stop (destroy_grace_seconds: SIGTERM first), not a loss.
    const logs = execFileSync('docker', ['logs', container(A)], { encoding: 'utf8' });
    assert.match(logs, new RegExp(`${B.replace(/\./g, '\\.')} is stopped: (peer said: stopping|it stopped)`));
    assert.doesNotMatch(logs, new RegExp(`${B.replace(/\./g, '\\.')} is stopped: lost`));
    await assertPlansEmpty(last);
  });

  it('adding a node replaces no running node', async () => {
    const ids = [A, C].map((n) => containerId(container(n)));
    last = applier([A, C, D]);
    const plan = await last.plan();
    assert.deepEqual([...nodeResources(plan, A), ...nodeResources(plan, C)], [], describeChanges(plan));
    assert.deepEqual(nodeResources(plan, D).map((c) => c.action), ['create', 'create'], describeChanges(plan));
    assertOnlyDnsReplaced(plan);
    const t0 = Date.now();
    await last.apply();
    results.push(`add a node: apply ${Date.now() - t0} ms`);
    assert.deepEqual([A, C].map((n) => containerId(container(n))), ids);
    await converge([A, C, D].map(container), [A, C, D], [B]);
    await assertPlansEmpty(last);
  });

  /** A change that replaces every node: data kept on the volumes; how long no node answered. */
  async function replaceAll(what: string, change: () => void): Promise<void> {
    const nodes = [A, C, D];
    const ids = nodes.map((n) => containerId(container(n)));
    change();
    last = applier(nodes);
    const plan = await last.plan();
    for (const n of nodes) assert.deepEqual(nodeResources(plan, n).filter((c) => c.address.startsWith('docker_container.')).map((c) => c.action), ['replace'], describeChanges(plan));
    assert.deepEqual(plan.filter((c) => c.address.startsWith('docker_volume.')), [], 'the data volumes stay');
    // Down: from the first node's stop until the cluster is whole again (apply waits for readiness).
    const t0 = Date.now();
    await last.apply();
    const applied = Date.now() - t0;
    const formed = await converge(nodes.map(container), nodes, [B]);
    results.push(`${what}: apply ${applied} ms (every node replaced), whole again ${formed} ms after apply`);
    for (const n of nodes) assert.notEqual(containerId(container(n)), ids[nodes.indexOf(n)]);
    for (const n of nodes) assert.equal(ctl(container(n), 'data', 'get', 'kept').out, 'yes', `${n} kept the data`);
    await assertPlansEmpty(last);
  }

  it('a new node image (here a BusyBox-based base image) replaces every node and keeps the data', async () => {
    await replaceAll('new node image', () => {
      vars = { ...vars, node_base_image: STANDIN.nodeAlpine };
    });
    // No bash in a BusyBox image: its healthcheck is the wget one, still over HTTP.
    for (const n of [A, C, D]) {
      const h = healthCheckPath(container(n));
      assert.equal(h.script, '/opt/muster/muster-health.sh', `${n}: the BusyBox-based image links the sh healthcheck`);
      assert.ok(h.readyAnswered >= 1, `${n}: its healthcheck went through GET /status/ready (${h.readyAnswered} answered 200)`);
    }
  });

  it('cookie rotation replaces every node and keeps the data', () =>
    replaceAll('cookie rotation', () => {
      vars = { ...vars, cookie: 'a-rotated-cookie' };
    }));
});

describe('a retained data volume outlives its node', { timeout: 300_000 }, () => {
  it('destroy keeps it, and the node declared again finds its data', async () => {
    const statePath = path.join(mkdtempSync(path.join(tmpdir(), 'muster-state-')), 'state.json');
    const stack = synthStack('keep', { clusterName: 'keep', subnet: '10.28.11.0/24', nodes: 1, discovery: { strategy: 'manual' }, dataRemovalPolicy: 'retain' });
    ensureStandInImages();
    try {
      const first = new StackApplier(stack, VARS, { statePath });
      await first.apply();
      assert.equal(ctl('keep-node1', 'data', 'put', 'survives', 'destroy').code, 0);
      await first.destroy();
      assert.equal(docker('volume', 'inspect', '--format', '{{.Name}}', 'keep-node1-data'), 'keep-node1-data', 'the volume is still there');
      const again = new StackApplier(stack, VARS, { statePath });
      await again.apply();
      assert.equal(ctl('keep-node1', 'data', 'get', 'survives').out, 'destroy');
      await again.destroy();
    } finally {
      docker('volume', 'rm', '-f', 'keep-node1-data');
    }
  });
});
