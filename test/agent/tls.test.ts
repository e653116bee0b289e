import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Fleet, staticSeedsEnv, waitFor, waitForStatus } from '../support/agents';
import { makeCa, makeNodeCert, tlsEnv, type NodeCert } from '../support/certs';

/**
 * When the last packet in a pcap file (tcpdump -w, microsecond timestamps) was captured, in ms
 * since the epoch; 0 for a file with none yet. The format: a 24-byte header, then per packet a
 * 16-byte header (seconds, microseconds, captured length, length) and the captured bytes.
 */
function lastPacketAt(file: string): number {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch {
    return 0;
  }
  if (buf.length < 24) return 0;
  // Microsecond pcap in either byte order; tcpdump -w writes nothing else here.
  const little = buf.readUInt32LE(0) === 0xa1b2c3d4;
  if (!little && buf.readUInt32BE(0) !== 0xa1b2c3d4) throw new Error(`${file} is not a microsecond pcap file (magic ${buf.readUInt32LE(0).toString(16)})`);
  const u32 = (at: number) => (little ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
  let at = 24;
  let last = 0;
  while (at + 16 <= buf.length) {
    const len = u32(at + 8);
    if (at + 16 + len > buf.length) break;
    last = u32(at) * 1000 + u32(at + 4) / 1000;
    at += 16 + len;
  }
  return last;
}

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
      const dump = spawn('tcpdump', ['-i', 'lo', '--immediate-mode', '-U', '-w', file, `tcp and host ${ips[0]} and host ${ips[1]}`], { stdio: ['ignore', 'ignore', 'pipe'] });
      // Capturing once tcpdump says it listens; a missing tcpdump fails here, before any agent starts.
      await new Promise<void>((resolve, reject) => {
        let said = '';
        const onError = (e: Error) => fail(`tcpdump could not start (${e.message}): this test needs it (apt-get install tcpdump; .ci/run installs it)`);
        const onClose = (code: number | null) => fail(`tcpdump exited (code ${code}) before it listened: ${said}`);
        const settle = () => {
          clearTimeout(timer);
          dump.off('error', onError);
          dump.off('close', onClose);
        };
        const fail = (why: string) => {
          settle();
          dump.kill('SIGKILL');
          reject(new Error(why));
        };
        const timer = setTimeout(() => fail(`tcpdump did not say it listens within 10 s: ${said}`), 10_000);
        dump.once('error', onError);
        dump.once('close', onClose);
        dump.stderr!.on('data', (d: Buffer) => {
          said += d.toString();
          if (!/listening on lo/.test(said)) return;
          settle();
          resolve();
        });
      });
      try {
        const x = fleet.agent(`muster@${ips[1]}`, env);
        await x.start();
        const r = await x.ctl(['cluster', 'join', `muster@${ips[0]}`]);
        assert.equal(r.code, 0, r.stderr);
        await waitForStatus([x], [...new Set([`muster@${ips[0]}`, x.name, ...(await x.status()).running_nodes])]);
        const w = await fleet.agents.find((g) => g.name === `muster@${ips[0]}`)!.ctl(['data', 'put', 'captured', value]);
        assert.equal(w.code, 0);
        // Captured until the write has reached the new node and tcpdump has written a packet sent
        // after that (its file is in order, so everything before is in it), not for a fixed time.
        await waitFor(async () => (await x.ctl(['data', 'get', 'captured'])).stdout.trim() === value, 10_000, `${x.name} to hold the write`);
        const held = Date.now();
        await waitFor(() => lastPacketAt(file) > held, 10_000, 'tcpdump to write a packet sent after the write arrived');
      } finally {
        if (dump.exitCode === null && dump.signalCode === null) {
          const exited = new Promise((r) => dump.once('exit', r));
          dump.kill('SIGINT');
          await exited;
        }
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
