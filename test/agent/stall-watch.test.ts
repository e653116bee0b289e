import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LocalHealth } from '../../node-agent/src/membership/local-health';
import { StallWatch } from '../../node-agent/src/membership/stall-watch';
import { DEFAULT_TUNING } from '../../node-agent/src/tuning';
import { Process, Scheduler } from '../sim/scheduler';

/** The watch on virtual time: a frozen process (SIGSTOP) is a stall it must see, and at rest it sets no timer. */
describe('stall watch', () => {
  const t = DEFAULT_TUNING.health;

  function harness() {
    const sched = new Scheduler();
    const proc = new Process('node');
    const health = new LocalHealth(t);
    const watch = new StallWatch(health, sched.clockFor(proc), t.watchEveryMs, t.watchForMs);
    return { sched, proc, health, watch };
  }

  it('sees a stall of this process while links are being made, and stretches the timeouts with it', async () => {
    const { sched, proc, health, watch } = harness();
    watch.wake();
    await sched.runUntil(sched.now + 1000);
    assert.equal(health.stallMs(sched.now), 0, 'a process that runs on time has no stall');
    sched.freeze(proc);
    await sched.runUntil(sched.now + 800);
    sched.thaw(proc);
    await sched.runUntil(sched.now + 1);
    const stall = health.stallMs(sched.now);
    assert.ok(stall >= 600 && stall <= 800, `stall seen: ${stall} ms`);
    assert.ok(health.timeoutMs(1000, sched.now) > 1000, 'the probe timeout is stretched by the stall');
  });

  it('a link judged right after a stall, before the watch ticks, still sees the stall (catchUp)', async () => {
    const { sched, proc, health, watch } = harness();
    watch.wake();
    await sched.runUntil(sched.now + 250);
    sched.freeze(proc);
    await sched.runUntil(sched.now + 800);
    sched.thaw(proc);
    // The handshake's timeout runs first: the tick that would note the stall has not fired.
    assert.equal(health.stallMs(sched.now), 0, 'not noted before the tick');
    watch.catchUp();
    assert.ok(health.stallMs(sched.now) >= 700, `noted by catchUp: ${health.stallMs(sched.now)} ms`);
  });

  it('a stopped watch sets no timer and notes nothing', async () => {
    const { sched, proc, health, watch } = harness();
    watch.wake();
    await sched.runUntil(sched.now + 250);
    watch.stop();
    assert.equal(watch.watching, false);
    sched.freeze(proc);
    await sched.runUntil(sched.now + 800);
    sched.thaw(proc);
    await sched.runUntil(sched.now + 1000);
    watch.catchUp();
    assert.equal(health.stallMs(sched.now), 0);
  });

  it('sets no timer at rest, and stops watchForMs after the last wake', async () => {
    const { sched, watch } = harness();
    assert.equal(watch.watching, false, 'nothing is watched before a link is made');
    watch.wake();
    await sched.runUntil(sched.now + t.watchForMs / 2);
    watch.wake();
    await sched.runUntil(sched.now + t.watchForMs - 2 * t.watchEveryMs);
    assert.equal(watch.watching, true, 'a second wake keeps the watch going');
    await sched.runUntil(sched.now + 3 * t.watchEveryMs);
    assert.equal(watch.watching, false, 'the watch stops once links have been quiet for watchForMs');
  });

  it('a stall at rest is not seen by the watch (the prober times those), and a stopped watch never restarts', async () => {
    const { sched, proc, health, watch } = harness();
    sched.freeze(proc);
    await sched.runUntil(sched.now + 800);
    sched.thaw(proc);
    await sched.runUntil(sched.now + 1);
    assert.equal(health.stallMs(sched.now), 0);
    watch.stop();
    watch.wake();
    assert.equal(watch.watching, false);
  });
});
