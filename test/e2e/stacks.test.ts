import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { synthAll } from '../../stacks/main';
import { ApplierError, StackApplier } from './applier';
import { assertPlansEmpty, converge, ctl, docker, healthCheckPath, nodesOf, VARS } from './helpers';
import { ensureStandInImages } from './standin-images';
import { makeCa, makeNodeCert } from '../support/certs';

// End to end on a real Docker engine (test/e2e/dockerd.sh): each synthesized stack is applied with
// the test applier (a stand-in for Terraform and kreuzwerker/docker v3.6.2), must form its
// cluster, and must plan empty a second time. Images are stand-ins with the official images'
// metadata, built from Debian's node, named and etcd.

/** A `muster ctl data put` every running member acknowledged (exit 0); otherwise what it said. */
function assertPut(r: { code: number; out: string }): void {
  assert.equal(r.code, 0, `data put exited ${r.code}: ${r.out}`);
}

describe('every synthesized stack deploys, forms its cluster and plans empty again', { timeout: 1_500_000 }, () => {
  let outdir = '';
  const times: string[] = [];
  before(() => {
    docker('info', '--format', '{{.ServerVersion}}'); // fails clearly when no engine answers
    ensureStandInImages();
    outdir = synthAll(mkdtempSync(path.join(tmpdir(), 'muster-e2e-')));
  });
  after(() => console.log(`convergence: ${times.join(', ')}`));

  async function withStack(
    stack: string,
    fn: (nodes: string[], names: string[], applier: StackApplier) => Promise<void>,
    envOverrides: Record<string, Record<string, string | null>> = {},
    extraVars: Record<string, string> = {},
  ) {
    const statePath = path.join(mkdtempSync(path.join(tmpdir(), 'muster-state-')), 'state.json');
    const applier = new StackApplier(path.join(outdir, 'stacks', stack), { ...VARS, ...extraVars }, { statePath, envOverrides });
    try {
      const t0 = Date.now();
      await applier.apply();
      times.push(`${stack} apply ${Date.now() - t0}ms`);
      const { containers, names } = nodesOf(stack.replace('-', ''));
      try {
        await fn(containers, names, applier);
      } catch (e) {
        // What each node logged is what explains a failure here; the containers go with the stack.
        for (const c of containers) {
          try {
            console.log(`--- docker logs ${c} (last 60 lines) ---\n${execFileSync('docker', ['logs', '--tail', '60', c], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })}`);
          } catch {
            console.log(`--- docker logs ${c}: not available ---`);
          }
        }
        throw e;
      }
    } finally {
      await applier.destroy();
    }
  }

  it("manual: two nodes, then the seed page's docker exec ... cluster join", () =>
    withStack('manual', async (nodes, names, applier) => {
      await converge([nodes[0]], [names[0]]);
      const r = ctl(nodes[1], 'cluster', 'join', names[0]);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /Join the cluster successfully/);
      times.push(`manual ${await converge(nodes, names)}ms`);
      await assertPlansEmpty(applier);
    }));

  for (const stack of ['static', 'dns-a', 'dns-srv', 'etcd']) {
    it(`${stack}: three nodes form one cluster with no command typed`, () =>
      withStack(stack, async (nodes, names, applier) => {
        assert.equal(nodes.length, 3);
        times.push(`${stack} ${await converge(nodes, names)}ms`);
        // The deploy waited on the healthcheck: it asked the agent over HTTP, with bash (Debian base).
        for (const c of nodes) {
          const h = healthCheckPath(c);
          assert.equal(h.script, '/opt/muster/muster-health.bash', `${c}: the Debian-based image links the bash healthcheck`);
          assert.ok(h.readyAnswered >= 1, `${c}: its healthcheck went through GET /status/ready (${h.readyAnswered} answered 200)`);
        }
        await assertPlansEmpty(applier);
      }));
  }

  it('static-replicants: three cores and two replicants form one cluster; a write through a replicant is read on every node', () =>
    withStack('static-replicants', async (nodes, names, applier) => {
      assert.deepEqual(nodes, ['staticreplicants-node1', 'staticreplicants-node2', 'staticreplicants-node3', 'staticreplicants-replicant1', 'staticreplicants-replicant2']);
      times.push(`static-replicants ${await converge(nodes, names)}ms`);
      const s = JSON.parse(ctl(nodes[3], 'cluster', 'status', '--json').out) as { role: string; roles: Record<string, string> };
      assert.equal(s.role, 'replicant');
      assert.deepEqual(Object.values(s.roles).sort(), ['core', 'core', 'core', 'replicant', 'replicant']);
      assertPut(ctl(nodes[4], 'data', 'put', 'through', 'replicant'));
      for (const c of nodes) assert.equal(ctl(c, 'data', 'get', 'through').out.trim(), 'replicant', c);
      await assertPlansEmpty(applier);
    }));

  it('static-tls: three nodes form over mutual TLS; renewed certificates reach the running agents with no replacement', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'muster-e2e-tls-'));
    const hosts = [1, 2, 3].map((i) => `node${i}.statictls.internal`);
    // <tls_dir>/<host>/{ca.crt,tls.crt,tls.key}, the key readable by the agent's user only.
    const issue = (ca: string) => {
      makeCa(dir, ca);
      for (const host of hosts) {
        makeNodeCert(dir, ca, host, `DNS:${host}`);
        mkdirSync(path.join(dir, host), { recursive: true });
        execFileSync('cp', [path.join(dir, `${ca}.crt`), path.join(dir, host, 'ca.crt.new')]);
        execFileSync('cp', [path.join(dir, `${host}.crt`), path.join(dir, host, 'tls.crt.new')]);
        execFileSync('cp', [path.join(dir, `${host}.key`), path.join(dir, host, 'tls.key.new')]);
        execFileSync('chown', ['-R', '1000:1000', path.join(dir, host)]);
        execFileSync('chmod', ['0600', path.join(dir, host, 'tls.key.new')]);
        // Renamed into place, as a renewal tool does (the directory mount sees the new files).
        for (const f of ['ca.crt', 'tls.crt', 'tls.key']) renameSync(path.join(dir, host, `${f}.new`), path.join(dir, host, f));
      }
    };
    issue('ca1');
    return withStack(
      'static-tls',
      async (nodes, names, applier) => {
        times.push(`static-tls ${await converge(nodes, names)}ms`);
        assertPut(ctl(nodes[0], 'data', 'put', 'over', 'tls'));
        assert.equal(ctl(nodes[2], 'data', 'get', 'over').out, 'tls');
        assert.match(docker('exec', nodes[0], 'ls', '-ln', '/etc/muster/tls/tls.key'), /^-rw------- 1 1000 1000 /, 'the key is readable by the agent only');
        const ids = nodes.map((n) => docker('inspect', '--format', '{{.Id}}', n));
        // Rotation: a new CA and new certificates for every node. `muster ctl` presents the node's
        // (new) certificate to its node, which accepts it only once it has reloaded the new CA.
        issue('ca2');
        const t0 = Date.now();
        let r = ctl(nodes[1], 'cluster', 'status');
        while (r.code !== 0 && Date.now() - t0 < 20_000) {
          await new Promise((res) => setTimeout(res, 500));
          r = ctl(nodes[1], 'cluster', 'status');
        }
        assert.equal(r.code, 0, `the agent did not take the renewed certificates: ${r.out}`);
        times.push(`tls rotation seen in ${Date.now() - t0}ms`);
        assert.match(execFileSync('docker', ['logs', nodes[1]], { encoding: 'utf8' }), /reloaded TLS certificate, key and CA after a change/);
        await assertPlansEmpty(applier);
        assert.deepEqual(
          nodes.map((n) => docker('inspect', '--format', '{{.Id}}', n)),
          ids,
          'no node was replaced',
        );
      },
      {},
      { tls_dir: dir },
    );
  });

  it('static-v6: three nodes form one cluster over IPv6 (inet6_tcp)', () =>
    withStack('static-v6', async (nodes, names, applier) => {
      times.push(`static-v6 ${await converge(nodes, names)}ms`);
      assert.match(execFileSync('docker', ['logs', nodes[0]], { encoding: 'utf8' }), /listening on fd00:28:7::a:4370/);
      await assertPlansEmpty(applier);
    }));

  it('faults: a disconnected node shows stopped and comes back; a killed node restarts with its data volume; writes survive a partition', () =>
    withStack('static', async (nodes, names) => {
      await converge(nodes, names);
      assertPut(ctl(nodes[0], 'data', 'put', 'before', '1'));
      // Partition: node3 off the network.
      docker('network', 'disconnect', 'static-net', nodes[2]);
      times.push(`disconnect seen in ${await converge(nodes.slice(0, 2), names.slice(0, 2), [names[2]])}ms`);
      assertPut(ctl(nodes[0], 'data', 'put', 'during', 'majority'));
      docker('network', 'connect', '--ip', '10.28.2.12', '--alias', names[2].split('@')[1], 'static-net', nodes[2]);
      times.push(`reconnect healed in ${await converge(nodes, names)}ms`);
      for (const c of nodes) assert.deepEqual(JSON.parse(ctl(c, 'data', 'list', '--json').out), { before: '1', during: 'majority' });
      // Crash and restart with the same data volume.
      docker('kill', nodes[1]);
      await converge([nodes[0], nodes[2]], [names[0], names[2]], [names[1]]);
      assertPut(ctl(nodes[0], 'data', 'put', 'while-down', 'x'));
      docker('start', nodes[1]);
      await converge(nodes, names);
      assert.equal(ctl(nodes[1], 'data', 'get', 'before').out, '1', 'kept on its volume');
      assert.equal(ctl(nodes[1], 'data', 'get', 'while-down').out, 'x', 'synced on return');
    }));

  it('a node with a wrong cookie stays out: the deploy fails naming it, and its log says why', async () => {
    const statePath = path.join(mkdtempSync(path.join(tmpdir(), 'muster-state-')), 'state.json');
    const applier = new StackApplier(path.join(outdir, 'stacks', 'static'), VARS, { statePath, envOverrides: { 'static-node3': { MUSTER_NODE__COOKIE_FILE: null, MUSTER_NODE__COOKIE: 'not-the-cookie' } } });
    try {
      // node3 never becomes ready (a cluster of 2): `wait` fails it, and only it, after wait_timeout.
      await assert.rejects(applier.apply(), (e: Error) => {
        assert.match(e.message, /make docker_container\.cluster_static-node3_container_[0-9A-F]+: container failed to be in healthy state/);
        assert.doesNotMatch(e.message, /static-node[12]/);
        return true;
      });
      const { containers: nodes, names } = nodesOf('static');
      await converge(nodes.slice(0, 2), names.slice(0, 2), [], 5000);
      await converge([nodes[2]], [names[2]], [], 5000);
      const logs = execFileSync('docker', ['logs', nodes[2]], { encoding: 'utf8' });
      assert.match(logs, /refused by peer: cookie proof does not match|failed the cookie check/);
      const peerLogs = execFileSync('docker', ['logs', nodes[0]], { encoding: 'utf8' });
      assert.match(peerLogs, /failed the cookie check \(wrong cookie\)|does not hold our cookie/);
      // Tainted: the next plan replaces it, and only it.
      assert.deepEqual((await applier.plan()).map((c) => `${c.action} ${c.address.replace(/_[0-9A-F]{8}$/, '')}`), ['replace docker_container.cluster_static-node3_container']);
    } finally {
      await applier.destroy();
    }
  });

  it('the applier refuses what it does not model, before creating anything', () => {
    const statePath = path.join(mkdtempSync(path.join(tmpdir(), 'muster-state-')), 'state.json');
    const dir = path.join(outdir, 'stacks', 'k8s');
    assert.throws(
      () => new StackApplier(dir, VARS, { statePath }),
      (e: Error) => e instanceof ApplierError && /provider 'kubernetes' is not implemented/.test(e.message) && /resource type 'kubernetes_stateful_set_v1' is not implemented/.test(e.message),
    );
    assert.throws(() => new StackApplier(path.join(outdir, 'stacks', 'static'), {}, { statePath }), /variable 'cookie' has no value: set TF_VAR_cookie/);
  });
});
