import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { Prober, probeTarget } from '../../node-agent/src/membership/prober';
import { LocalHealth } from '../../node-agent/src/membership/local-health';
import type { PeerManager } from '../../node-agent/src/membership/peers';
import type { Connection } from '../../node-agent/src/transport/connection';
import { neighbours, STEPS } from '../../node-agent/src/membership/overlay';
import { DEFAULT_TUNING } from '../../node-agent/src/tuning';
import { Process, Scheduler } from '../sim/scheduler';

describe('probe schedule', () => {
  const names = Array.from({ length: 12 }, (_, i) => `muster@10.0.0.${i + 10}`);

  it('in every slot each member is probed by exactly one other member', () => {
    for (const n of [2, 3, 4, 7, 12]) {
      const ring = names.slice(0, n);
      for (let slot = 0; slot < 20; slot++) {
        const targets = ring.map((self) => probeTarget(self, ring.filter((m) => m !== self), slot));
        assert.deepEqual([...targets].sort(), [...ring].sort(), `n ${n} slot ${slot}`);
        targets.forEach((t, i) => assert.notEqual(t, ring[i], `n ${n} slot ${slot}: ${ring[i]} probes itself`));
      }
    }
  });

  it('a node probes its next STEPS members in turn, all of them neighbours it keeps links to', () => {
    const self = names[3];
    const seen = new Set(Array.from({ length: 2 * STEPS }, (_, k) => probeTarget(self, names, 100 + k)));
    assert.deepEqual([...seen].sort(), names.slice(4, 4 + STEPS));
    const linked = neighbours(self, names, () => true);
    for (const t of seen) assert.ok(linked.has(t!), `${t} is probed but not linked`);
  });

  it('in a small cluster a node probes every other member', () => {
    const ring = names.slice(0, 3);
    const seen = new Set(Array.from({ length: 4 }, (_, k) => probeTarget(ring[0], ring, k)));
    assert.deepEqual([...seen].sort(), ring.slice(1));
  });

  it('a node alone probes nobody', () => {
    assert.equal(probeTarget(names[0], [], 5), undefined);
    assert.equal(probeTarget(names[0], [names[0]], 5), undefined);
  });
});

/**
 * The prober against a stand-in for its peer manager (links are plain objects that record what is
 * asked of them): what matters here is whom it asks to check a member, not the transport.
 */
describe('a member the prober cannot reach over a link of its own', () => {
  const self = 'muster@10.0.1.10';
  const target = 'muster@10.0.1.11';
  const other = 'muster@10.0.1.12';
  const ring = [self, target, other, 'muster@10.0.1.13'];

  function harness(opts: { targetUp: boolean }) {
    const asked: Array<{ to: string; op: string; node?: string }> = [];
    const link = (peer: string) =>
      ({
        peerName: peer,
        isClosed: false,
        request: (op: string, body: { node?: string }) => {
          asked.push({ to: peer, op, node: body.node });
          // Pings are answered at once: every member here runs.
          return op === 'ping' ? Promise.resolve({}) : Promise.resolve({ acked: [] });
        },
        // An answered probe's round trip is noted on its link (heal dials' connect time).
        noteRtt: () => undefined,
      }) as unknown as Connection;
    const links = new Map(ring.filter((m) => m !== self && (m !== target || opts.targetUp)).map((m) => [m, link(m)]));
    const peers = {
      link: (p: string) => links.get(p),
      isUp: (p: string) => links.has(p),
      upLinks: () => [...links.values()],
      suspend: () => undefined,
    } as unknown as PeerManager;
    // Virtual time (the simulator's scheduler): the schedule is exact and the test waits no real time.
    const sched = new Scheduler();
    const prober = new Prober(peers, { self, intervalMs: 40, timeoutMs: 20, running: () => ring }, new LocalHealth(), pino({ enabled: false }), DEFAULT_TUNING.health, sched.clockFor(new Process(self)));
    return { prober, asked, runFor: (ms: number) => sched.runUntil(sched.now + ms) };
  }

  it('asks the members linked to it to check it when it still has no link to it at its next turn', async () => {
    const { prober, asked, runFor } = harness({ targetUp: false });
    prober.start();
    // self's turns with the target come every STEPS slots of 40 ms; two of them take at most ~0.3 s.
    await runFor(600);
    prober.stop();
    const suspects = asked.filter((a) => a.op === 'suspect');
    assert.ok(suspects.length > 0, `no member was asked to check ${target}: ${JSON.stringify(asked)}`);
    assert.ok(suspects.every((a) => a.node === target && a.to !== target));
    assert.deepEqual([...new Set(suspects.map((a) => a.to))].sort(), ring.filter((m) => m !== self && m !== target).sort());
  });

  it('asks nobody while its link is up and its probes are answered', async () => {
    const { prober, asked, runFor } = harness({ targetUp: true });
    prober.start();
    await runFor(600);
    prober.stop();
    assert.ok(asked.some((a) => a.op === 'ping' && a.to === target), 'the target was never probed');
    assert.deepEqual(asked.filter((a) => a.op === 'suspect'), []);
  });
});
