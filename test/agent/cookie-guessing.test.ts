import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { Connection, PeerError } from '../../node-agent/src/transport/connection';
import { Fleet } from '../support/agents';

// Online cookie guessing against a running agent (127.0.46.x): one source trying wrong cookies as
// fast as it can, four handshakes at a time, for a bounded time. Before transport/handshake-guard.ts
// it had about 1,460 proofs a second answered and each wrote a warn line.
describe('cookie guessing is slowed', { timeout: 90_000 }, () => {
  const fleet = new Fleet();
  after(() => fleet.close());
  const name = 'muster@127.0.46.2';
  const quiet = pino({ enabled: false });

  const attempt = async (source: string, cookie: string): Promise<string> => {
    try {
      const c = await Connection.dial({ host: '127.0.46.2', port: 4370, role: 'ctl', localName: 'guess@local', cookie, boot: 'g', log: quiet, localAddress: source, handshakeTimeoutMs: 15_000, connectTimeoutMs: 3000 });
      c.close('done');
      return 'admitted';
    } catch (e) {
      return e instanceof PeerError ? e.code : 'error';
    }
  };

  it('after a few failures a source gets at most one proof answered a second, the log gets a few lines, and other sources are not slowed', async (t) => {
    const agent = fleet.agent(name);
    await agent.start();
    const linesBefore = agent.lines.length;
    const attacker = '127.0.46.9';
    const answered: number[] = [];
    const started = Date.now();
    // Bounded: 8 s and 20,000 attempts at most, four at a time.
    const deadline = started + 8000;
    let attempts = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (Date.now() < deadline && attempts < 20_000) {
          attempts++;
          const r = await attempt(attacker, `wrong-guess-${attempts}-0123456789`);
          if (r === 'bad_cookie') answered.push(Date.now() - started);
        }
      }),
    );
    const late = answered.filter((t) => t >= 3000);
    const rate = late.length / 5;
    assert.ok(answered.length >= 4, `the first guesses are answered (${answered.length})`);
    assert.ok(rate <= 1, `after its first failures one source had ${late.length} proofs answered in the last 5 s (${rate}/s); at most 1/s`);

    // An honest client from another address is answered at once, with the right cookie.
    const t0 = Date.now();
    assert.equal(await attempt('127.0.46.3', agent.env.MUSTER_NODE__COOKIE!), 'admitted');
    assert.ok(Date.now() - t0 < 1000, `another source is not slowed (${Date.now() - t0} ms)`);

    const refusals = agent.lines.slice(linesBefore).filter((l) => /refused/.test(l.msg));
    t.diagnostic(`${attempts} attempts in 8 s, ${answered.length} proofs answered (${late.length} in the last 5 s), ${refusals.length} log line(s)`);
    assert.ok(refusals.length >= 1 && refusals.length <= 3, `the attack is logged once, then counted (${refusals.length} lines: ${refusals.map((l) => l.msg).join(' | ')})`);
    assert.match(refusals[0].msg, /refused connection from 127\.0\.46\.9:\d+: .*wrong cookie\) \(further refusals from 127\.0\.46\.9 are counted and reported every 60 s\)/);
  });
});
