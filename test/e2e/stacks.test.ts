import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { synthAll } from '../../stacks/main';
import { ApplierError, StackApplier } from './applier';
import { ensureStandInImages, STANDIN } from './standin-images';
import { makeCa, makeNodeCert } from '../support/certs';

// End to end on a real Docker engine (test/e2e/dockerd.sh): each synthesized stack is applied with
// the test applier (cdktf deploy cannot run here) and must form its cluster. Images are local
// stand-ins built from Debian's node, named and etcd.

const COOKIE = 'e2e-cookie';
const LIMIT_MS = 60_000;
const vars = { cookie: COOKIE, node_base_image: STANDIN.node, dns_image: STANDIN.dns, etcd_image: STANDIN.etcd };

function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function ctl(container: string, ...args: string[]): { code: number; out: string } {
  try {
    return { code: 0, out: docker('exec', container, 'muster', 'ctl', ...args) };
  } catch (e) {
    const err = e as { status?: number; stdout?: string; stderr?: string };
    return { code: err.status ?? -1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

function status(container: string): { running_nodes: string[]; stopped_nodes: string[] } | undefined {
  const r = ctl(container, 'cluster', 'status', '--json');
  return r.code === 0 ? (JSON.parse(r.out) as { running_nodes: string[]; stopped_nodes: string[] }) : undefined;
}

/** Polls `docker exec <c> muster ctl cluster status --json` on every container until all agree. */
async function converge(containers: string[], running: string[], stopped: string[] = [], limitMs = LIMIT_MS): Promise<number> {
  const started = Date.now();
  let seen = '';
  while (Date.now() - started < limitMs) {
    const all = containers.map(status);
    seen = all.map((s, i) => `${containers[i]}: ${JSON.stringify(s)}`).join('\n');
    if (all.every((s) => s && JSON.stringify(s.running_nodes) === JSON.stringify([...running].sort()) && JSON.stringify(s.stopped_nodes) === JSON.stringify([...stopped].sort()))) {
      return Date.now() - started;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`no convergence within ${limitMs}ms to running=${running} stopped=${stopped}; last seen:\n${seen}`);
}

describe('every synthesized stack forms its cluster on a real Docker engine', { timeout: 1_200_000 }, () => {
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
    fn: (nodes: string[], names: string[]) => Promise<void>,
    overrides: Record<string, Record<string, string>> = {},
    extraVars: Record<string, string> = {},
  ) {
    const applier = new StackApplier(path.join(outdir, 'stacks', stack), { ...vars, ...extraVars }, overrides);
    try {
      await applier.apply();
      const prefix = stack.replace('-', '');
      const nodes = docker('ps', '-a', '--filter', `name=^${prefix}-node`, '--format', '{{.Names}}').split('\n').filter(Boolean).sort();
      const names = nodes.map((c) => docker('inspect', '--format', '{{index .Config.Labels "muster.node-name"}}', c));
      await fn(nodes, names);
    } finally {
      applier.destroy();
    }
  }

  it('manual: two nodes, then the seed page\'s docker exec ... cluster join', () =>
    withStack('manual', async (nodes, names) => {
      await converge([nodes[0]], [names[0]]);
      const r = ctl(nodes[1], 'cluster', 'join', names[0]);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /Join the cluster successfully/);
      times.push(`manual ${await converge(nodes, names)}ms`);
    }));

  for (const stack of ['static', 'dns-a', 'dns-srv', 'etcd']) {
    it(`${stack}: three nodes form one cluster with no command typed`, () =>
      withStack(stack, async (nodes, names) => {
        assert.equal(nodes.length, 3);
        const t = await converge(nodes, names);
        times.push(`${stack} ${t}ms`);
      }));
  }

  it('static-tls: three nodes form one cluster over mutual TLS with certificates from tls_dir', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'muster-e2e-tls-'));
    makeCa(dir, 'ca');
    for (const i of [1, 2, 3]) {
      const host = `node${i}.statictls.internal`;
      makeNodeCert(dir, 'ca', host, `DNS:${host}`);
    }
    return withStack(
      'static-tls',
      async (nodes, names) => {
        times.push(`static-tls ${await converge(nodes, names)}ms`);
        assert.equal(ctl(nodes[0], 'data', 'put', 'over', 'tls').code, 0);
        assert.equal(ctl(nodes[2], 'data', 'get', 'over').out, 'tls');
      },
      {},
      { tls_dir: dir },
    );
  });

  it('static-v6: three nodes form one cluster over IPv6 (inet6_tcp)', () =>
    withStack('static-v6', async (nodes, names) => {
      times.push(`static-v6 ${await converge(nodes, names)}ms`);
      assert.match(execFileSync('docker', ['logs', nodes[0]], { encoding: 'utf8' }), /listening on fd00:28:7::a:4370/);
    }));

  it('faults: a disconnected node shows stopped and comes back; a killed node restarts with its data volume; writes survive a partition', () =>
    withStack('static', async (nodes, names) => {
      await converge(nodes, names);
      assert.equal(ctl(nodes[0], 'data', 'put', 'before', '1').code, 0);
      // Partition: node3 off the network.
      docker('network', 'disconnect', 'static-net', nodes[2]);
      times.push(`disconnect seen in ${await converge(nodes.slice(0, 2), names.slice(0, 2), [names[2]])}ms`);
      assert.equal(ctl(nodes[0], 'data', 'put', 'during', 'majority').code, 0);
      docker('network', 'connect', '--ip', '10.28.2.12', '--alias', names[2].split('@')[1], 'static-net', nodes[2]);
      times.push(`reconnect healed in ${await converge(nodes, names)}ms`);
      for (const c of nodes) assert.deepEqual(JSON.parse(ctl(c, 'data', 'list', '--json').out), { before: '1', during: 'majority' });
      // Crash and restart with the same data volume.
      docker('kill', nodes[1]);
      await converge([nodes[0], nodes[2]], [names[0], names[2]], [names[1]]);
      assert.equal(ctl(nodes[0], 'data', 'put', 'while-down', 'x').code, 0);
      docker('start', nodes[1]);
      await converge(nodes, names);
      assert.equal(ctl(nodes[1], 'data', 'get', 'before').out, '1', 'kept on its volume');
      assert.equal(ctl(nodes[1], 'data', 'get', 'while-down').out, 'x', 'synced on return');
    }));

  it('a node with a wrong cookie stays out, and its log says why', () =>
    withStack(
      'static',
      async (nodes, names) => {
        await converge(nodes.slice(0, 2), names.slice(0, 2));
        await new Promise((r) => setTimeout(r, 3000));
        await converge(nodes.slice(0, 2), names.slice(0, 2), [], 5000);
        await converge([nodes[2]], [names[2]], [], 5000);
        const logs = execFileSync('docker', ['logs', nodes[2]], { encoding: 'utf8' });
        assert.match(logs, /refused by peer: cookie proof does not match|failed the cookie check/);
        const peerLogs = execFileSync('docker', ['logs', nodes[0]], { encoding: 'utf8' });
        assert.match(peerLogs, /failed the cookie check \(wrong cookie\)|does not hold our cookie/);
      },
      { 'static-node3': { MUSTER_NODE__COOKIE: 'not-the-cookie' } },
    ));

  it('the applier refuses what it does not implement, before creating anything', () => {
    const dir = path.join(outdir, 'stacks', 'k8s');
    assert.throws(() => new StackApplier(dir, vars), (e: Error) => e instanceof ApplierError && /provider 'kubernetes' is not implemented/.test(e.message) && /resource type 'kubernetes_stateful_set_v1' is not implemented/.test(e.message));
    assert.throws(() => new StackApplier(path.join(outdir, 'stacks', 'static'), {}), /variable 'cookie' has no value: set TF_VAR_cookie/);
  });
});
