import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Fleet, staticSeedsEnv, waitFor, waitForStatus } from '../support/agents';
import { makeCa, makeNodeCert, tlsEnv, type NodeCert } from '../support/certs';

// Agents on 127.0.19.x over mutual TLS with certificates this test makes.
describe('inet_tls: mutual TLS between nodes', { timeout: 180_000 }, () => {
  const fleet = new Fleet();
  const dir = fleet.dir;
  let ca: string;
  const cert: Record<string, NodeCert> = {};
  before(() => {
    makeCa(dir, 'ca');
    makeCa(dir, 'otherca');
    ca = 'ca';
    for (const i of [2, 3, 4, 5, 6]) cert[i] = makeNodeCert(dir, ca, `n${i}`, `IP:127.0.19.${i}`);
  });
  after(() => fleet.close());

  it('two TLS nodes form a cluster; ctl talks TLS too', async () => {
    const [a, b] = await Promise.all([2, 3].map((i) => {
      const ag = fleet.agent(`muster@127.0.19.${i}`, tlsEnv(cert[i]));
      return ag.start().then(() => ag);
    }));
    const r = await b.ctl(['cluster', 'join', a.name]);
    assert.equal(r.code, 0, r.stderr);
    await waitForStatus([a, b], [a.name, b.name]);
    assert.equal((await a.ctl(['data', 'put', 'secret-value', 'swordfish'])).code, 0);
    assert.equal((await b.ctl(['data', 'get', 'secret-value'])).stdout.trim(), 'swordfish');
  });

  it('a certificate from another CA, an expired one and one whose SAN does not match are refused and logged', async () => {
    const [a] = fleet.agents;
    const cases: [string, NodeCert, RegExp][] = [
      ['127.0.19.4', makeNodeCert(dir, 'otherca', 'foreign', 'IP:127.0.19.4'), /not signed by the cluster CA/],
      ['127.0.19.5', makeNodeCert(dir, ca, 'expired', 'IP:127.0.19.5', 0), /certificate expired/],
      ['127.0.19.6', makeNodeCert(dir, ca, 'wrongsan', 'IP:127.0.19.99'), /does not match the node name's host/],
    ];
    await new Promise((r) => setTimeout(r, 1500)); // the 0-day certificate is expired by now
    for (const [ip, c, re] of cases) {
      // Each bad node discovers the cluster by a static seed and tries to join it by itself.
      const x = fleet.agent(`muster@${ip}`, { ...tlsEnv(c), ...staticSeedsEnv([a.name]) });
      await x.start();
      await waitFor(() => a.logged(new RegExp(`refused (TLS )?connection from ${ip.replace(/\./g, '\\.')}:\\d+: .*${re.source}`)), 10_000, `${a.name} to log why ${ip} was refused (${re})`);
      await waitFor(() => x.logged(new RegExp(`discovered ${a.name.replace(/\./g, '\\.')} but skipped it: .*${re.source}`)), 10_000, `${ip} to log why (${re})`);
      await waitForStatus([a], [a.name, fleet.agents[1].name]);
    }
  });

  it('a rotated certificate is picked up without a restart', async () => {
    const [a] = fleet.agents;
    const x = fleet.agents.find((g) => g.name === 'muster@127.0.19.5')!;
    // x runs with an expired certificate; give it a valid one in place.
    copyFileSync(cert[5].certfile, path.join(dir, 'expired.crt'));
    copyFileSync(cert[5].keyfile, path.join(dir, 'expired.key'));
    await waitFor(() => x.logged(/reloaded TLS certificate, key and CA after a change/), 10_000, 'the reload');
    // Its discovery now gets in: no restart, no command.
    await waitForStatus([a, x], [a.name, fleet.agents[1].name, x.name], [], 30_000);
  });

  it('a TLS node and a plain-TCP node do not half-connect; both log why', async () => {
    const [a] = fleet.agents;
    const plain = fleet.agent('muster@127.0.19.7');
    await plain.start();
    const r = await plain.ctl(['cluster', 'join', a.name]);
    assert.equal(r.code, 1);
    await waitFor(() => a.logged(/refused TLS connection from 127\.0\.19\.7:\d+: peer does not speak TLS/), 10_000, 'the TLS node to say why');
    await waitFor(() => plain.logged(/cannot join the cluster of muster@127\.0\.19\.2: .*(TLS|proto_dist)/), 5000, 'the plain node to say why');
    const back = await a.ctl(['cluster', 'join', plain.name]);
    assert.equal(back.code, 1);
    await waitFor(() => plain.logged(/peer started a TLS handshake on a plain-TCP port/), 10_000, 'the plain node to say why');
    await waitFor(() => a.logged(/cannot join the cluster of muster@127\.0\.19\.7: TLS to muster@127\.0\.19\.7 .* refused/), 5000, 'the node to log the refused TLS');
  });

  it('captured traffic shows no cookie, no data value and no node list in clear text', async () => {
    const [a, b] = fleet.agents;
    const capture = async (env: Record<string, string>, ips: [string, string], value: string): Promise<Buffer> => {
      const file = path.join(dir, `cap-${value}.pcap`);
      const dump = spawn('tcpdump', ['-i', 'lo', '-U', '-w', file, `tcp and host ${ips[0]} and host ${ips[1]}`], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 1000));
      try {
        const x = fleet.agent(`muster@${ips[1]}`, env);
        await x.start();
        const r = await x.ctl(['cluster', 'join', `muster@${ips[0]}`]);
        assert.equal(r.code, 0, r.stderr);
        await (await import('../support/agents')).waitForStatus([x], [...new Set([`muster@${ips[0]}`, x.name, ...(await x.status()).running_nodes])]);
        const w = await fleet.agents.find((g) => g.name === `muster@${ips[0]}`)!.ctl(['data', 'put', 'captured', value]);
        assert.equal(w.code, 0);
        await new Promise((r) => setTimeout(r, 1500));
      } finally {
        dump.kill('SIGINT');
        await new Promise((r) => dump.once('exit', r));
      }
      return readFileSync(file);
    };
    // Control: the same capture without TLS does show the value, so this test can fail.
    const plainA = fleet.agent('muster@127.0.19.10', { MUSTER_NODE__COOKIE: 'plain-cookie-123' });
    await plainA.start();
    const clear = await capture({ MUSTER_NODE__COOKIE: 'plain-cookie-123' }, ['127.0.19.10', '127.0.19.11'], 'visible-in-plain-tcp');
    assert.ok(clear.includes('visible-in-plain-tcp'), 'control: plain TCP carries the value in clear');
    const c12 = makeNodeCert(dir, ca, 'n12', 'IP:127.0.19.12');
    const enc = await capture(tlsEnv(c12), ['127.0.19.2', '127.0.19.12'], 'hidden-by-tls');
    assert.ok(enc.length > 1000, 'traffic was captured');
    for (const secret of ['hidden-by-tls', 'swordfish', 'test-cookie', 'muster@127.0.19']) assert.ok(!enc.includes(secret), `'${secret}' not in clear text`);
    void a;
    void b;
  });
});
