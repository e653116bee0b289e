import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import https from 'node:https';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Fleet, muster, waitFor, waitForStatus } from '../support/agents';
import { makeCa, makeNodeCert, tlsEnv } from '../support/certs';

// Agents on 127.0.50.x: the read-only HTTP listener (config `http`) on each node's own address.
const url = (host: string, path: string) => `http://${host}:18083${path}`;

async function get(host: string, path: string, init?: RequestInit): Promise<{ status: number; text: string; headers: Headers }> {
  const r = await fetch(url(host, path), init);
  return { status: r.status, text: await r.text(), headers: r.headers };
}

/** One sample of a metric from the Prometheus text format, by name and exact label set. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Sends raw bytes and returns what the listener answered before it closed the connection (bounded by `timeoutMs`). */
function raw(host: string, send: (s: net.Socket) => void, timeoutMs: number): Promise<{ answer: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const s = net.connect({ host, port: 18083 }, () => send(s));
    let answer = '';
    s.on('data', (d) => (answer += d.toString()));
    s.on('error', () => undefined);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`the listener kept the connection open for ${timeoutMs}ms; answered: ${answer.slice(0, 200)}`));
    }, timeoutMs);
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ answer, closedAfterMs: Date.now() - started });
    });
  });
}

describe('the HTTP listener: probes, metrics, the cluster API', { timeout: 180_000 }, () => {
  const fleet = new Fleet({ MUSTER_NODE__COOKIE: 'test-cookie', MUSTER_CLUSTER__READY_MIN_NODES: '3' }, 'fast');
  after(() => fleet.close());
  const names = ['muster@127.0.50.1', 'muster@127.0.50.2', 'muster@127.0.50.3'];
  const hosts = names.map((n) => n.slice(n.indexOf('@') + 1));

  it('/status speaks EMQX\'s text and JSON; live and ready answer with the right codes', async () => {
    const [a] = await fleet.startAll(names);
    await waitFor(async () => (await get(hosts[0], '/status')).status === 200, 5000, 'the membership to start');
    const s = await get(hosts[0], '/status');
    assert.equal(s.text, `Node ${a.name} is started\nmuster is running\n`);
    assert.match(s.headers.get('content-type') ?? '', /^text\/plain/);
    assert.deepEqual(JSON.parse((await get(hosts[0], '/status?format=json')).text), { node_name: a.name, broker_status: 'started', app_status: 'running' });
    const bad = await get(hosts[0], '/status?format=xml');
    assert.equal(bad.status, 400);
    assert.match(bad.text, /format must be text or json, not 'xml'/);
    assert.equal((await get(hosts[0], '/status/live')).status, 200);
    const notReady = await get(hosts[0], '/status/ready');
    assert.equal(notReady.status, 503, 'alone, below cluster.ready_min_nodes = 3');
    assert.match(notReady.text, /not ready: 1 running member\(s\), cluster\.ready_min_nodes = 3/);
    assert.deepEqual(JSON.parse((await get(hosts[0], '/status/ready?format=json')).text), { node: a.name, ready: false, reason: '1 running member(s), cluster.ready_min_nodes = 3' });
    for (const b of fleet.agents.slice(1)) assert.equal((await b.ctl(['cluster', 'join', a.name])).code, 0);
    await waitForStatus(fleet.agents, names);
    await waitFor(async () => (await Promise.all(hosts.map((h) => get(h, '/status/ready')))).every((r) => r.status === 200), 10_000, 'every node ready over HTTP');
  });

  it('/metrics: members, links, probes and traffic in the Prometheus text format', async () => {
    const a = fleet.agents[0];
    assert.equal((await a.ctl(['data', 'put', 'k', 'v'])).code, 0);
    // The other members probe and gossip on: wait until a probe has been answered here.
    const m = (await waitFor(async () => {
      const r = await get(hosts[0], '/metrics');
      return (sample(r.text, 'muster_probe_rtt_seconds_count') ?? 0) > 0 ? r : undefined;
    }, 10_000, 'an answered probe'))!;
    assert.match(m.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.equal(sample(m.text, 'muster_members', 'state="running"'), 3);
    assert.equal(sample(m.text, 'muster_members', 'state="stopped"'), 0);
    assert.equal(sample(m.text, 'muster_links_up'), 2);
    assert.equal(sample(m.text, 'muster_ready'), 1);
    assert.equal(sample(m.text, 'muster_writes_total', 'result="acked"'), 1);
    assert.equal(sample(m.text, 'muster_state_keys'), 1);
    assert.ok((sample(m.text, 'muster_probes_sent_total') ?? 0) > 0);
    assert.ok((sample(m.text, 'muster_transport_messages_total', 'direction="out",kind="gossip"') ?? 0) > 0, 'the write went out as gossip');
    assert.ok((sample(m.text, 'muster_transport_bytes_total', 'direction="in",kind="sync"') ?? 0) > 0, 'links synced');
    assert.ok((sample(m.text, 'process_resident_memory_bytes') ?? 0) > 10e6, 'the process metrics');
    assert.match(m.text, /# TYPE muster_probe_rtt_seconds histogram/);
    assert.equal(sample(m.text, 'muster_node_info', `node="${a.name}",cluster_name="muster",role="core"`), 1);
  });

  it('/api/v1/cluster and /api/v1/nodes: the status with roles, incarnations, links and last heard', async () => {
    const v = JSON.parse((await get(hosts[1], '/api/v1/cluster')).text);
    assert.equal(v.node, names[1]);
    assert.deepEqual(v.running_nodes, names);
    assert.deepEqual(v.nodes.map((n: { name: string }) => n.name), names);
    for (const n of v.nodes) {
      assert.equal(n.role, 'core');
      assert.equal(n.status, 'running');
      assert.equal(typeof n.incarnation, 'number');
      assert.ok(Date.now() - Date.parse(n.last_heard) < 5000, `${n.name} heard from lately: ${n.last_heard}`);
    }
    assert.deepEqual(v.links, [[names[0], names[1]], [names[0], names[2]], [names[1], names[2]]], 'three nodes are a full mesh');
    assert.ok(v.events.some((e: { kind: string; node: string }) => e.kind === 'added'), 'the joins are among the events');
    const nodes = JSON.parse((await get(hosts[1], '/api/v1/nodes')).text);
    assert.deepEqual(nodes.map((n: { name: string; linked: boolean }) => [n.name, n.linked]), [[names[0], true], [names[1], false], [names[2], true]]);
  });

  it('a killed node shows stopped in the API and the metrics within the detection bound', async () => {
    const c = fleet.agents[2];
    await c.signal('SIGKILL');
    const killedAt = Date.now();
    await waitFor(async () => JSON.parse((await get(hosts[0], '/api/v1/cluster')).text).stopped_nodes.includes(names[2]), 5000, 'c stopped in /api/v1/cluster');
    assert.ok(Date.now() - killedAt < 3000 + 1000, 'within stopped_after_ms (3 s) and a poll');
    const m = (await get(hosts[0], '/metrics')).text;
    assert.equal(sample(m, 'muster_members', 'state="stopped"'), 1);
    assert.equal((await get(hosts[0], '/status/ready')).status, 503, 'below ready_min_nodes again');
    const events = JSON.parse((await get(hosts[0], '/api/v1/cluster')).text).events;
    assert.ok(events.some((e: { kind: string; node: string }) => e.kind === 'stopped' && e.node === names[2]));
    await c.start();
    await waitForStatus(fleet.agents, names);
  });

  it('bad requests get the right HTTP errors; a flood of them leaves the cluster as it was', async () => {
    const h = hosts[0];
    const post = await get(h, '/status', { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    assert.match(post.text, /read-only/);
    const missing = await get(h, '/nope');
    assert.equal(missing.status, 404);
    assert.match(missing.text, /no such path: \/nope \(there are \/, \/page\.js, \/status/);
    const head = await raw(h, (s) => s.write('HEAD /status HTTP/1.0\r\n\r\n'), 5000);
    assert.match(head.answer, /^HTTP\/1\.1 200 /);
    assert.match(head.answer, /content-length: 52\r\n/, 'the length of the GET answer');
    assert.ok(head.answer.endsWith('\r\n\r\n'), 'and no body');
    const target = await raw(h, (s) => s.write('GET //[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), 5000);
    assert.match(target.answer, /^HTTP\/1\.1 400 /, 'a target that is no path');
    const huge = await raw(h, (s) => s.write(`GET /status HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`), 5000);
    assert.match(huge.answer, /^HTTP\/1\.1 431 /, 'a head over 8 KiB');
    const garbage = await raw(h, (s) => s.write('NOT HTTP AT ALL\r\n\r\n'), 5000);
    assert.match(garbage.answer, /^HTTP\/1\.1 400 /);
    // A client that never finishes its head is cut off after headersTimeoutMs (1 s with --tuning fast).
    const slow = await raw(h, (s) => s.write('GET /status HTTP/1.1\r\nHost: x\r\n'), 10_000);
    assert.ok(slow.closedAfterMs < 4000, `a slow client held its connection for ${slow.closedAfterMs} ms`);
    assert.match(slow.answer, /^HTTP\/1\.1 408 /);

    // A ctl with the wrong cookie: refused, and counted by cause.
    const wrong = await fleet.agents[0].ctl(['ping'], { MUSTER_NODE__COOKIE: 'not-the-cookie' });
    assert.notEqual(wrong.code, 0);
    assert.equal(sample((await get(h, '/metrics')).text, 'muster_handshakes_refused_total', 'cause="bad_cookie"'), 1);
    const before = (await get(h, '/metrics')).text;
    // 3,000 requests, 50 at a time, of every kind: bounded in count, and in time by the test's timeout.
    const paths = ['/status', '/metrics', '/api/v1/cluster', '/nope', '/'];
    let next = 0;
    const worker = async () => {
      while (next < 3000) {
        const i = next++;
        const r = await fetch(url(h, paths[i % paths.length]), { method: i % 7 === 0 ? 'DELETE' : 'GET' });
        await r.arrayBuffer();
      }
    };
    await Promise.all(Array.from({ length: 50 }, worker));
    const after = (await get(h, '/metrics')).text;
    // What the flood got back, as the listener counts it: every request answered as its kind asks.
    const answered = (path: string, code: number) => (sample(after, 'muster_http_requests_total', `path="${path}",code="${code}"`) ?? 0) - (sample(before, 'muster_http_requests_total', `path="${path}",code="${code}"`) ?? 0);
    const deletes = Math.floor((3000 - 1) / 7) + 1;
    assert.equal(answered('other', 405) + answered('/status', 405) + answered('/metrics', 405) + answered('/api/v1/cluster', 405) + answered('/', 405), deletes, 'every DELETE refused');
    assert.equal(answered('/status', 200) + answered('/metrics', 200) + answered('/api/v1/cluster', 200) + answered('/', 200) + answered('other', 404), 3000 - deletes + 1, 'every GET answered (and the scrape before)');
    await waitForStatus(fleet.agents, names);
    assert.equal(sample(after, 'muster_down_claims_made_total'), sample(before, 'muster_down_claims_made_total'), 'no member was reported down during the flood');
    assert.equal(sample(after, 'muster_down_claims_refuted_total'), sample(before, 'muster_down_claims_refuted_total'));
  });
});

describe('http.tls: the listener over HTTPS with the node\'s certificate', { timeout: 60_000 }, () => {
  const fleet = new Fleet({ MUSTER_NODE__COOKIE: 'test-cookie' }, 'fast');
  after(() => fleet.close());

  it('answers over HTTPS verified by the cluster CA (plain TCP between nodes), and exports the certificate\'s expiry', async () => {
    makeCa(fleet.dir, 'ca');
    const cert = makeNodeCert(fleet.dir, 'ca', 'n1', 'IP:127.0.50.21');
    const { MUSTER_CLUSTER__PROTO_DIST: _, ...files } = tlsEnv(cert);
    const a = fleet.agent('muster@127.0.50.21', { ...files, MUSTER_HTTP__TLS: 'true' });
    await a.start();
    assert.ok(a.logged(/HTTP listener on https:\/\/127\.0\.50\.21:18083/));
    const get = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        https
          .get({ host: '127.0.50.21', port: 18083, path, ca: readFileSync(cert.cacertfile) }, (res) => {
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          })
          .on('error', reject);
      });
    const s = await waitFor(async () => {
      const r = await get('/status');
      return r.status === 200 && r;
    }, 5000, 'the HTTPS listener');
    assert.ok(s);
    assert.match((s as { body: string }).body, /is started\nmuster is running/);
    const expiry = Date.parse(new X509Certificate(readFileSync(cert.certfile)).validTo) / 1000;
    assert.equal(sample((await get('/metrics')).body, 'muster_tls_certificate_expiry_timestamp_seconds'), expiry);
    await assert.rejects(fetch('http://127.0.50.21:18083/status'), 'plain HTTP on the HTTPS port gets no answer');
  });

  it('with TLS between nodes and a plain-HTTP listener, the certificate\'s expiry is a metric all the same', async () => {
    const cert = makeNodeCert(fleet.dir, 'ca', 'n2', 'IP:127.0.50.22');
    const b = fleet.agent('muster@127.0.50.22', tlsEnv(cert));
    await b.start();
    const expiry = Date.parse(new X509Certificate(readFileSync(cert.certfile)).validTo) / 1000;
    const metrics = await waitFor(async () => (await fetch('http://127.0.50.22:18083/metrics')).text(), 5000, 'the plain-HTTP listener');
    assert.equal(sample(metrics, 'muster_tls_certificate_expiry_timestamp_seconds'), expiry);
  });
});

describe('the HTTP listener\'s configuration', { timeout: 60_000 }, () => {
  it('a bad http key exits 2 naming it; a port in use is one line and leaves nothing listening', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'muster-http-'));
    const base = { MUSTER_NODE__NAME: 'muster@127.0.50.9', MUSTER_NODE__COOKIE: 'a-cookie-long-enough-for-tests', MUSTER_NODE__DATA_DIR: dir };
    const notNumber = await muster(['agent'], { ...base, MUSTER_HTTP__PORT: 'web' });
    assert.equal(notNumber.code, 2);
    assert.match(notNumber.stderr, /http\.port \(from MUSTER_HTTP__PORT\): expected number, got 'web'/);
    const same = await muster(['agent'], { ...base, MUSTER_HTTP__PORT: '4370' });
    assert.equal(same.code, 2);
    assert.match(same.stderr, /http\.port.*must differ from cluster\.port \(4370\)/);
    const bind = await muster(['agent'], { ...base, MUSTER_HTTP__BIND: 'localhost' });
    assert.equal(bind.code, 2);
    assert.match(bind.stderr, /http\.bind \(from MUSTER_HTTP__BIND\): must be an IP address/);
    const tls = await muster(['agent'], { ...base, MUSTER_HTTP__TLS: 'true' });
    assert.equal(tls.code, 2);
    assert.match(tls.stderr, /cluster\.ssl\.certfile: is required when http\.tls = true/);

    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen({ host: '127.0.50.9', port: 18083 }, r));
    try {
      const inUse = await muster(['agent'], base);
      assert.equal(inUse.code, 1);
      assert.equal(inUse.stderr.trim().split('\n').length, 1, inUse.stderr);
      assert.match(inUse.stderr, /^muster: cannot listen: http\.port 18083 on 127\.0\.50\.9 is in use by another process: set http\.port to a free port, or http\.enable = false$/m);
    } finally {
      squatter.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
