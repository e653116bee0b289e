import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Testing } from '../../stacks/lib/cdktf';
import { synthAll } from '../../stacks/main';
import { PaymentsCluster } from './fixtures/other-team-app';

const STACKS = ['manual', 'static', 'dns-a', 'dns-srv', 'etcd', 'static-tls', 'static-v6', 'static-replicants', 'k8s'];
const ROOT = path.resolve(__dirname, '../..');

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function synthesized(outdir: string, stack: string): Json {
  return JSON.parse(readFileSync(path.join(outdir, 'stacks', stack, 'cdk.tf.json'), 'utf8')) as Json;
}

function containers(j: Json): Json[] {
  return Object.values(j.resource.docker_container ?? {});
}

const envOf = (c: Json) => Object.fromEntries((c.env as string[]).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));

describe('the stacks', { timeout: 120_000 }, () => {
  const outdir = synthAll(mkdtempSync(path.join(tmpdir(), 'muster-synth-')));

  it('synthesizes every stack, each with a plan summary beside it', () => {
    for (const s of STACKS) {
      assert.ok(existsSync(path.join(outdir, 'stacks', s, 'cdk.tf.json')), s);
      assert.ok(existsSync(path.join(outdir, 'stacks', s, 'plan-summary.md')), s);
    }
  });

  it('never writes the literal cookie: it is a sensitive variable without default', () => {
    for (const s of STACKS) {
      const j = synthesized(outdir, s);
      assert.deepEqual(Object.keys(j.variable.cookie).sort(), ['description', 'sensitive', 'type'], s);
      assert.equal(j.variable.cookie.sensitive, true);
    }
    for (const c of containers(synthesized(outdir, 'static'))) assert.equal(envOf(c).MUSTER_NODE__COOKIE, undefined);
  });

  it('plan review: the cookie is in no attribute but its own upload, so every setting stays readable in the plan', () => {
    // Terraform marks a whole attribute sensitive when any part of it comes from a sensitive
    // variable: in env, the cookie would hide every setting as "(sensitive value)".
    for (const s of STACKS.filter((x) => x !== 'k8s')) {
      for (const c of containers(synthesized(outdir, s))) {
        const holding = Object.entries(c).filter(([, v]) => JSON.stringify(v).includes('${var.cookie}')).map(([k]) => k);
        assert.deepEqual(holding, c.labels?.some((l: Json) => l.label === 'muster.node-name') ? ['upload'] : [], `${s}: ${c.name}`);
        if (holding.length) assert.deepEqual((c.upload as Json[]).filter((u) => JSON.stringify(u).includes('${var.cookie}')).map((u) => u.file), ['/etc/muster/cookie']);
      }
    }
  });

  it('static: seeds are the declared nodes, the same on every node', () => {
    const cs = containers(synthesized(outdir, 'static'));
    assert.equal(cs.length, 3);
    const seeds = '["muster@node1.static.internal","muster@node2.static.internal","muster@node3.static.internal"]';
    for (const c of cs) assert.equal(envOf(c).MUSTER_CLUSTER__STATIC__SEEDS, seeds);
  });

  it('dns-a: nodes named by IP, found by the cluster name\'s A records on the stack\'s BIND server', () => {
    const j = synthesized(outdir, 'dns-a');
    const nodes = containers(j).filter((c) => c.name !== 'dnsa-dns');
    assert.deepEqual(nodes.map((c) => envOf(c).MUSTER_NODE__NAME), ['muster@10.28.3.10', 'muster@10.28.3.11', 'muster@10.28.3.12']);
    const e = envOf(nodes[0]);
    assert.equal(e.MUSTER_CLUSTER__DNS__NAME, 'dnsa.dnsa.internal');
    assert.equal(e.MUSTER_CLUSTER__DNS__RECORD_TYPE, 'a');
    assert.equal(e.MUSTER_CLUSTER__DNS__SERVERS, '["10.28.3.2:53"]');
    const dns = containers(j).find((c) => c.name === 'dnsa-dns')!;
    const zone = (dns.upload as Json[]).find((u) => u.file === '/var/lib/bind/db.dnsa.internal')!.content as string;
    for (const ip of ['10.28.3.10', '10.28.3.11', '10.28.3.12']) assert.match(zone, new RegExp(`^dnsa\\tIN\\tA\\t${ip.replace(/\./g, '\\.')}$`, 'm'));
  });

  it('dns-srv: one SRV record per node with the cluster port; nodes resolve hosts through the stack\'s DNS', () => {
    const j = synthesized(outdir, 'dns-srv');
    const dns = containers(j).find((c) => c.name === 'dnssrv-dns')!;
    const zone = (dns.upload as Json[]).find((u) => u.file.startsWith('/var/lib/bind/'))!.content as string;
    assert.equal(zone.match(/^_muster\._tcp\tIN\tSRV\t10 10 4370 node\d$/gm)?.length, 3);
    const node = containers(j).find((c) => c.name === 'dnssrv-node1')!;
    assert.equal(envOf(node).MUSTER_CLUSTER__DNS__NAME, '_muster._tcp.dnssrv.internal');
    assert.deepEqual(node.depends_on.length, 2, 'nodes start after the network and the DNS server');
  });

  it('etcd: nodes point at the stack\'s etcd member', () => {
    const j = synthesized(outdir, 'etcd');
    const node = containers(j).find((c) => c.name === 'etcd-node1')!;
    assert.equal(envOf(node).MUSTER_CLUSTER__ETCD__SERVER, 'http://10.28.5.3:2379');
    assert.equal(envOf(node).MUSTER_CLUSTER__ETCD__PREFIX, 'muster');
    assert.ok(containers(j).some((c) => c.name === 'etcd-etcd0' && (c.command as string[])[0] === '/usr/local/bin/etcd'));
  });

  it('static-tls: the tls_dir variable is bind-mounted read-only (renewed files reach the agent); no key material in the JSON', () => {
    const j = synthesized(outdir, 'static-tls');
    const node = containers(j).find((c) => c.name === 'statictls-node1')!;
    assert.deepEqual((node.upload as Json[]).map((u) => u.file), ['/etc/muster/cookie'], 'no certificate or key uploaded');
    // Only the node's own folder: no node sees another's key.
    assert.deepEqual(node.mounts, [{ type: 'bind', source: '${var.tls_dir}/node1.statictls.internal', target: '/etc/muster/tls', read_only: true }]);
    const env = envOf(node);
    assert.equal(env.MUSTER_CLUSTER__PROTO_DIST, 'inet_tls');
    assert.equal(env.MUSTER_CLUSTER__SSL__KEYFILE, '/etc/muster/tls/tls.key');
    assert.equal(env.MUSTER_CLUSTER__SSL__CERTFILE, '/etc/muster/tls/tls.crt');
    // A new path must replace the node: mounts' fields are not ForceNew, labels are.
    assert.ok((node.labels as Json[]).some((l) => l.label === 'muster.tls-dir' && l.value === '${var.tls_dir}/node1.statictls.internal'));
    assert.doesNotMatch(JSON.stringify(j), /BEGIN (EC |RSA )?PRIVATE KEY|BEGIN CERTIFICATE/);
  });

  it('static-v6: a dual-stack network, IPv6 node addresses, inet6_tcp', () => {
    const j = synthesized(outdir, 'static-v6');
    const net = Object.values(j.resource.docker_network)[0] as Json;
    assert.equal(net.ipv6, true);
    const node = containers(j).find((c) => c.name === 'staticv6-node2')!;
    assert.equal(node.networks_advanced[0].ipv6_address, 'fd00:28:7::b');
    assert.equal(envOf(node).MUSTER_CLUSTER__PROTO_DIST, 'inet6_tcp');
  });

  it('manual: outputs the seed page\'s join command', () => {
    const j = synthesized(outdir, 'manual');
    assert.deepEqual(j.output.join_commands.value, ['docker exec manual-node2 muster ctl cluster join muster@node1.manual.internal']);
  });

  it('k8s: headless service publishing not-ready addresses, a StatefulSet, and RBAC to read endpointslices and endpoints', () => {
    const j = synthesized(outdir, 'k8s');
    const svc = Object.values(j.resource.kubernetes_service_v1)[0] as Json;
    assert.equal(svc.spec.cluster_ip, 'None');
    assert.equal(svc.spec.publish_not_ready_addresses, true);
    const role = Object.values(j.resource.kubernetes_role_v1)[0] as Json;
    assert.deepEqual(role.rule.map((r: Json) => r.resources[0]).sort(), ['endpoints', 'endpointslices']);
    const sts = Object.values(j.resource.kubernetes_stateful_set_v1)[0] as Json;
    const env = sts.spec.template.spec.container[0].env as Json[];
    assert.ok(env.some((e) => e.name === 'MUSTER_CLUSTER__DISCOVERY_STRATEGY' && e.value === 'k8s'));
    assert.ok(env.some((e) => e.name === 'MUSTER_NODE__COOKIE' && e.value_from.secret_key_ref.key === 'cookie'));
    const c = sts.spec.template.spec.container[0];
    // The probes ask the agent's HTTP listener, not a Node.js process per check.
    assert.deepEqual(c.readiness_probe.http_get, { path: '/status/ready', port: 'http', scheme: 'HTTP' });
    assert.deepEqual(c.liveness_probe.http_get, { path: '/status/live', port: 'http', scheme: 'HTTP' });
    assert.deepEqual(c.port.map((p: Json) => [p.name, p.container_port]), [['cluster', 4370], ['http', 18083]]);
    assert.equal(sts.spec.template.metadata.annotations['prometheus.io/scrape'], 'true');
    assert.equal(sts.spec.template.metadata.annotations['prometheus.io/port'], '18083');
    assert.deepEqual(Object.keys(j.output).sort(), ['metrics_urls', 'node_names', 'service', 'status_command', 'status_urls']);
    assert.equal(j.output.status_urls.value['muster@muster-0.muster.${var.namespace}.svc.cluster.local'], 'http://muster-0.muster.${var.namespace}.svc.cluster.local:18083/status');
  });

  it('k8s: the plan summary shows what a reviewer needs: replicas, image, probes, resources, budget', () => {
    const md = readFileSync(path.join(outdir, 'stacks', 'k8s', 'plan-summary.md'), 'utf8');
    for (const part of ['**3 core pods** (Parallel), image `${var.node_image}`', '| readiness probe | `HTTP GET /status/ready` on port http every 5 s, timeout 2 s |', '| liveness probe | `HTTP GET /status/live` on port http every 10 s, timeout 2 s, 6 failures |', '| metrics | Prometheus scrape annotations: port 18083, path `/metrics` |', '| disruption budget | at most 1 pod(s) down by a drain |', '| ready when | a member of a cluster of at least 2 |']) {
      assert.ok(md.includes(part), part);
    }
  });

  it('k8s: pods run as the image\'s user, and fsGroup makes the (root-owned) data volume writable by it', () => {
    const j = synthesized(outdir, 'k8s');
    const sts = Object.values(j.resource.kubernetes_stateful_set_v1)[0] as Json;
    const user = /^USER (\d+):(\d+)$/m.exec(readFileSync(path.join(ROOT, 'node-agent/Dockerfile'), 'utf8'));
    assert.ok(user, 'node-agent/Dockerfile sets USER uid:gid');
    const sc = sts.spec.template.spec.security_context as Json;
    assert.equal(sc.run_as_non_root, true);
    assert.equal(sc.run_as_user, user[1]);
    assert.equal(sc.run_as_group, user[2]);
    assert.equal(sc.fs_group, user[2], 'the kubelet gives the volume to the group the agent runs with');
    assert.equal(sts.spec.template.spec.container[0].volume_mount[0].mount_path, '/var/lib/muster');
  });

  it('matches the reviewed snapshots (UPDATE_SNAPSHOTS=1 rewrites them after a deliberate change)', () => {
    for (const s of STACKS) {
      // The agent bundle's hash changes with every agent change; the snapshot is about the plan's shape.
      // So is the checkout's path (the local backend's state file lives in the project root).
      const text = JSON.stringify(synthesized(outdir, s), null, 2)
        .replace(/[0-9A-F]{32}/g, '<context-hash>')
        // The node image's tag ends with the build context's hash too.
        .replace(/(-node:[a-z0-9-]+-)[0-9a-f]{12}"/g, '$1<context-hash>"')
        .split(ROOT)
        .join('<project-root>');
      const file = path.join(__dirname, '__snapshots__', `${s}.json`);
      if (process.env.UPDATE_SNAPSHOTS === '1') {
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, `${text}\n`);
        continue;
      }
      assert.ok(existsSync(file), `no snapshot for ${s}: run UPDATE_SNAPSHOTS=1 npm test and review the new file`);
      assert.equal(`${text}\n`, readFileSync(file, 'utf8'), `stack ${s} differs from its snapshot`);
    }
  });

  it('the plan summary is deterministic and shows nodes, records, discovery, images and a diagram', () => {
    const again = synthAll(mkdtempSync(path.join(tmpdir(), 'muster-synth-')));
    for (const s of STACKS) {
      assert.equal(readFileSync(path.join(again, 'stacks', s, 'plan-summary.md'), 'utf8'), readFileSync(path.join(outdir, 'stacks', s, 'plan-summary.md'), 'utf8'), s);
    }
    const md = readFileSync(path.join(outdir, 'stacks', 'dns-srv', 'plan-summary.md'), 'utf8');
    for (const part of ['## Nodes', '| `muster@node1.dnssrv.internal` | dnssrv-node1 | node1.dnssrv.internal | 10.28.4.10 | muster core |', '## DNS records', '| _muster._tcp | SRV | 10 10 4370 node1 |', '## Discovery', '`cluster.dns.record_type` | `srv`', '## Images', '```mermaid']) {
      assert.ok(md.includes(part), part);
    }
  });

  it('another team\'s app imports MusterCluster and declares its environment in a few lines', () => {
    const app = Testing.app();
    const stack = new PaymentsCluster(app, 'payments');
    const j = JSON.parse(Testing.synth(stack, true)) as Json;
    assert.equal(Object.keys(j.resource.docker_container).length, 6, '5 nodes and a DNS server');
    assert.equal(stack.cluster.declaredNodes[4].nodeName, 'muster@node5.payments.internal');
  });
});

describe('cdktf synth (the CLI, offline)', { timeout: 180_000 }, () => {
  it('builds every stack and its plan summary, with no update check or telemetry', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'muster-cdktf-'));
    const r = await new Promise<{ code: number; text: string }>((resolve) =>
      execFile(
        'npx',
        ['cdktf', 'synth', '--output', out],
        { cwd: ROOT, env: { ...process.env, CHECKPOINT_DISABLE: '1', DISABLE_VERSION_CHECK: '1', CI: '1' }, timeout: 170_000 },
        (err, stdout, stderr) => resolve({ code: err ? 1 : 0, text: stdout + stderr }),
      ),
    );
    assert.equal(r.code, 0, r.text);
    for (const s of STACKS) assert.ok(existsSync(path.join(out, 'stacks', s, 'plan-summary.md')), s);
  });
});
