import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { Connection, encodeCast } from '../../node-agent/src/transport/connection';
import { encodeFrame, FrameDecoder, FrameError } from '../../node-agent/src/transport/frame';
import { Fleet, waitFor, waitForStatus, type Agent } from '../support/agents';

describe('frame codec', () => {
  it('round-trips messages split across chunks', () => {
    const d = new FrameDecoder(1024);
    const bytes = Buffer.concat([encodeFrame({ t: 'hb' }), encodeFrame({ t: 'bye', reason: 'x' })]);
    const out = [...d.push(bytes.subarray(0, 3)), ...d.push(bytes.subarray(3, 11)), ...d.push(bytes.subarray(11))];
    assert.deepEqual(out, [{ t: 'hb' }, { t: 'bye', reason: 'x' }]);
  });
  it('refuses oversize frames, unknown versions and non-JSON bodies', () => {
    assert.throws(() => new FrameDecoder(100).push(Buffer.from([0, 0, 1, 0, 1])), (e: Error) => e instanceof FrameError && /over the limit of 100/.test(e.message));
    const v9 = encodeFrame({ t: 'hb' });
    v9.writeUInt8(9, 4);
    assert.throws(() => new FrameDecoder(100).push(v9), /unsupported protocol version 9/);
    assert.throws(() => new FrameDecoder(100).push(Buffer.from([0, 0, 0, 3, 1, 0x7b, 0x7b])), /not valid JSON/);
  });
});

/** Sends raw bytes to a node's cluster port and resolves when the node closes the socket. */
function rawSession(host: string, bytes: Buffer | undefined, port = 4370): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port }, () => bytes && s.write(bytes));
    s.on('error', () => undefined);
    s.on('close', () => resolve());
    setTimeout(() => reject(new Error('node did not close the connection')), 15_000).unref();
  });
}

// Agents on 127.0.3.x.
describe('the cluster port under hostile or mistaken peers', { timeout: 120_000 }, () => {
  const fleet = new Fleet();
  let a: Agent, b: Agent;
  const names = ['muster@127.0.3.2', 'muster@127.0.3.3'];

  before(async () => {
    [a, b] = await fleet.startAll(names);
    assert.equal((await b.ctl(['cluster', 'join', a.name])).code, 0);
    await waitForStatus([a, b], names);
  });
  after(() => fleet.close());

  it('a node with the wrong cookie is refused, both sides log why, and the cluster is unaffected', async () => {
    const intruder = fleet.agent('muster@127.0.3.4', { MUSTER_NODE__COOKIE: 'not-the-cookie' });
    await intruder.start();
    const r = await intruder.ctl(['cluster', 'join', a.name]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cookie/);
    await waitFor(() => a.logged(/refused connection from 127\.0\.3\.4:\d+: muster@127\.0\.3\.4 failed the cookie check/), 5000, 'a to log the cookie failure');
    await waitFor(() => intruder.logged(/cannot join the cluster of muster@127\.0\.3\.2: refused by peer: cookie/), 5000, 'the intruder to log why it was refused');
    await waitForStatus([a, b], names);
    await waitForStatus([intruder], [intruder.name]);
  });

  it('a peer that holds the cookie but answers a join with a malformed state is refused, and nothing changes', async () => {
    // A real listener speaking Muster's handshake with the cluster's cookie, whose answers are wrong.
    const server = net.createServer((socket) => {
      void Connection.accept(socket, { localName: 'muster@127.0.3.9', cookie: 'test-cookie', boot: 'liar', log: pino({ enabled: false }) }).then((conn) =>
        conn?.onRequest(async (op) => (op === 'join' ? { cluster_id: 'x', members: [{ key: 'muster@127.0.3.2', state: 'bogus' }] } : {})),
      );
    });
    await new Promise<void>((r) => server.listen(4370, '127.0.3.9', r));
    try {
      const r = await b.ctl(['cluster', 'join', 'muster@127.0.3.9']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /malformed 'join' answer from muster@127\.0\.3\.9/);
      await waitForStatus([a, b], names);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it("a join link's welcome carries the answer to 'info' (a probe needs no request of its own); other roles' welcomes carry nothing", async () => {
    const quiet = pino({ enabled: false });
    const common = { host: a.host, port: 4370, cookie: 'test-cookie', boot: 't', log: quiet, expectedPeer: a.name };
    const join = await Connection.dial({ ...common, role: 'join', localName: 'muster@127.0.3.9', localAddress: '127.0.3.9' });
    const ctl = await Connection.dial({ ...common, role: 'ctl', localName: 'test@local' });
    try {
      const info = join.infoInWelcome as { cluster_id: string; members: string[]; running: string[] };
      assert.deepEqual([...info.running].sort(), names);
      // The same answer a request gets.
      assert.deepEqual(await join.request('info', {}, 5000), info);
      assert.equal(ctl.infoInWelcome, undefined);
    } finally {
      join.close('done');
      ctl.close('done');
    }
    await waitForStatus([a, b], names);
  });

  it('garbage, oversize and malformed frames close only that connection', async () => {
    await rawSession(a.host, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await rawSession(a.host, Buffer.from([0xff, 0xff, 0xff, 0xff, 1]));
    await rawSession(a.host, encodeFrame({ t: 'hello', role: 'node', name: 'x@1.2.3.4' }));
    await waitFor(() => a.logged(/over the limit of 16384/), 5000, 'the oversize frame to be logged');
    await waitFor(() => a.logged(/malformed handshake message 'hello'/), 5000, 'the malformed hello to be logged');
    assert.ok(a.running, 'the agent is still running');
    await waitForStatus([a, b], names);
  });

  it('a malformed message after a successful handshake closes that link with a log line', async () => {
    const conn = await Connection.dial({ host: a.host, port: 4370, role: 'ctl', localName: 'test@local', cookie: 'test-cookie', boot: 't', log: pino({ enabled: false }) });
    const closed = new Promise<string>((r) => conn.once('close', r));
    conn.send({ t: 'nonsense' });
    assert.match(await closed, /closed/);
    await waitFor(() => a.logged(/malformed message/), 5000, 'the malformed message to be logged');
    await waitForStatus([a, b], names);
  });

  it('a stalled handshake is closed after the handshake timeout', async () => {
    const started = Date.now();
    await rawSession(a.host, undefined);
    assert.ok(Date.now() - started >= 4000, 'the node waits for the handshake timeout before closing');
    await waitFor(() => a.logged(/handshake stalled/), 5000, 'the stall to be logged');
  });
});

// In-process ends on 127.0.3.20: what a dropped link tells the other side.
describe('ending a link', () => {
  const quiet = pino({ enabled: false });
  async function pair(): Promise<{ server: net.Server; near: Connection; far: Connection }> {
    let onFar!: (c: Connection) => void;
    const farReady = new Promise<Connection>((r) => (onFar = r));
    const server = net.createServer((socket) => {
      void Connection.accept(socket, { localName: 'muster@127.0.3.20', cookie: 'c', boot: 'far', log: quiet }).then((c) => c && onFar(c));
    });
    await new Promise<void>((r) => server.listen(4370, '127.0.3.20', r));
    const near = await Connection.dial({ host: '127.0.3.20', port: 4370, role: 'node', localName: 'muster@127.0.3.21', cookie: 'c', boot: 'near', log: quiet, localAddress: '127.0.3.21' });
    return { server, near, far: await farReady };
  }

  it('a link dropped by a running node (dismissed) is told apart from the node stopping or vanishing', async () => {
    const { server, near, far } = await pair();
    try {
      const reason = new Promise<string>((r) => near.once('close', r));
      far.dismiss('replaced by a newer link');
      assert.equal(await reason, 'closed by peer: replaced by a newer link');
      assert.equal(near.dismissed, true);
      assert.equal(near.saidBye, false, 'a dismissed link is not an orderly stop of its node');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('a plain close and a goodbye are not taken for a dismissal', async () => {
    for (const end of ['close', 'goodbye'] as const) {
      const { server, near, far } = await pair();
      try {
        const closed = new Promise<string>((r) => near.once('close', r));
        if (end === 'close') far.close('test');
        else await far.goodbye('stopping');
        await closed;
        assert.equal(near.dismissed, false, end);
        assert.equal(near.saidBye, end === 'goodbye', end);
      } finally {
        await new Promise((r) => server.close(r));
      }
    }
  });

  it('a cast is served and never answered; an operation that may not be cast is refused without an answer', async () => {
    const { server, near, far } = await pair();
    try {
      const served: string[] = [];
      far.onRequest(async (op, body) => {
        served.push(`${op} ${(body as { id?: string }).id ?? ''}`);
        return { acked: ['muster@127.0.3.20'] };
      });
      const frames: unknown[] = [];
      const seen = (m: unknown) => frames.push(m);
      // Every frame the near end receives after this point (answers would be 'res').
      const raw = (near as unknown as { dispatch: (m: unknown) => void }).dispatch.bind(near);
      (near as unknown as { dispatch: (m: unknown) => void }).dispatch = (m) => (seen(m), raw(m));
      near.sendFrame(encodeCast('gossip', { cluster_id: 'c1', id: 'g1', budget_ms: 1000, oneway: true, alive: [] }));
      near.sendFrame(encodeCast('sync', { cluster_id: 'c1', digest: 'x' }));
      await near.request('gossip', { cluster_id: 'c1', id: 'g2', budget_ms: 1000 }, 5000);
      assert.deepEqual(served, ['gossip g1', 'gossip g2'], 'the gossip cast is served, the sync cast is not');
      assert.deepEqual(
        frames.map((m) => (m as { t: string }).t),
        ['res'],
        'only the request is answered',
      );
    } finally {
      near.close('done');
      far.close('done');
      await new Promise((r) => server.close(r));
    }
  });

  it('requests and casts that arrive before this end installs its handler are served once it does, in order', async () => {
    const { server, near, far } = await pair();
    try {
      // The far end sends at once, as a member does on a link it has just taken; the near end has
      // no handler yet (a dialed link gets one only after dial resolves and the link is kept).
      far.sendFrame(encodeCast('gossip', { cluster_id: 'c1', id: 'early-cast', budget_ms: 1000, oneway: true, alive: [] }));
      const answer = far.request('gossip', { cluster_id: 'c1', id: 'early-req', budget_ms: 1000 }, 5000);
      await new Promise((r) => setTimeout(r, 200));
      const served: string[] = [];
      near.onRequest(async (op, body) => (served.push(`${op} ${(body as { id?: string }).id ?? ''}`), { acked: ['muster@127.0.3.21'] }));
      assert.deepEqual(await answer, { acked: ['muster@127.0.3.21'] }, 'the early request is answered by the handler, not refused');
      assert.deepEqual(served, ['gossip early-cast', 'gossip early-req']);
    } finally {
      near.close('done');
      far.close('done');
      await new Promise((r) => server.close(r));
    }
  });

  it('a peer that sends more than a few hundred requests before this end is ready has its link closed', async () => {
    const { server, near, far } = await pair();
    try {
      const closed = new Promise<string>((r) => near.once('close', r));
      const frame = encodeCast('gossip', { cluster_id: 'c1', id: 'flood', budget_ms: 1000, oneway: true, alive: [] });
      for (let i = 0; i < 300; i++) far.sendFrame(frame);
      const late = new Promise<string>((r) => setTimeout(() => r('still open after 10 s'), 10_000).unref());
      assert.equal(await Promise.race([closed, late]), 'too many requests before this end was ready');
    } finally {
      near.close('done');
      far.close('done');
      await new Promise((r) => server.close(r));
    }
  });

  it('a request whose answer is known from its raw body (a repeated gossip) gets it without the handler or the schema; others are served as before', async () => {
    const { server, near, far } = await pair();
    try {
      const served: string[] = [];
      far.onRequest(
        async (op, body) => (served.push(`${op} ${(body as { id?: string }).id ?? ''}`), { acked: ['muster@127.0.3.20'] }),
        (op, raw) => (op === 'gossip' && (raw as { id?: unknown }).id === 'seen' ? { acked: [] } : undefined),
      );
      // Not a valid gossip (no cluster_id, no budget): answered all the same, since only the id counts.
      assert.deepEqual(await near.request('gossip', { id: 'seen' }, 5000), { acked: [] });
      assert.deepEqual(await near.request('gossip', { cluster_id: 'c1', id: 'new', budget_ms: 1000 }, 5000), { acked: ['muster@127.0.3.20'] });
      await assert.rejects(near.request('gossip', { id: 'new-but-malformed' }, 5000), /malformed 'gossip' request/);
      assert.deepEqual(served, ['gossip new']);
    } finally {
      near.close('done');
      far.close('done');
      await new Promise((r) => server.close(r));
    }
  });
});
