import { parseArgs } from 'node:util';
import { DEFAULT_TUNING } from '../../node-agent/src/tuning';
import { World, type SimNode } from './world';

/**
 * `node --import tsx test/sim/roles-scale.ts --replicants 1000`: 3 cores and N replicants on the
 * real agent code in virtual time. Replicants start over 5 s; then a minute of churn (a replicant
 * crashed, restarted, stopped for good or a new one started, every 250 ms) with writes through
 * random running replicants, and a core crashed for 20 s in the middle of it. Checked at the end:
 * one cluster of every running node, every acknowledged write on every node, no core carrying more
 * replicants than tuning.roles.maxReplicantLinks, every running replicant linked to a core.
 * Prints the figures (formation, idle bytes per core and per replicant, failover) and exits 1 on
 * any violation.
 */
const { values: a } = parseArgs({ options: { replicants: { type: 'string', default: '1000' }, seed: { type: 'string', default: '1' }, 'churn-ms': { type: 'string', default: '60000' } } });
const R = Number(a.replicants);
const seed = Number(a.seed);
const churnMs = Number(a['churn-ms']);
if (!Number.isInteger(R) || R < 1 || R > 5000) {
  process.stderr.write(`roles-scale: --replicants must be a whole number from 1 to 5000, not '${a.replicants}'\n`);
  process.exit(2);
}

const log = (msg: string) => console.log(`${new Date().toISOString().slice(11, 19)} ${msg}`);
const SPARE = Math.ceil(R / 10); // machines for replicants added during the churn

async function main(): Promise<number> {
  const realStart = performance.now();
  const w = new World({ seed, nodes: 3 + R + SPARE, replicants: R + SPARE, seeds: 3 });
  const cores = w.nodes.slice(0, 3);
  const initial = w.nodes.slice(3, 3 + R);
  const spare = w.nodes.slice(3 + R);
  const violations: string[] = [];

  for (const c of cores) w.sched.after(w.random.fraction() * 500, () => c.start());
  for (const r of initial) w.sched.after(500 + w.random.fraction() * 5000, () => r.start());
  await w.run(5500);
  const formed = await w.runUntil(() => w.converged(), 120_000, 100);
  if (formed === undefined) {
    log(`NOT FORMED within 120 s after the last start`);
    return 1;
  }
  log(`formed: 3 cores + ${R} replicants, ${formed} ms after the last start (${((performance.now() - realStart) / 1000).toFixed(0)} s real)`);

  // Idle: bytes sent per node over 10 s, cores and replicants apart.
  await w.run(10_000);
  const sent = () => new Map(w.running.map((n) => [n.name, [...n.node!.stats.trafficOut.values()].reduce((s, t) => s + t.bytes, 0)]));
  const before = sent();
  await w.run(10_000);
  const after = sent();
  const perSecond = (nodes: SimNode[]) => nodes.reduce((s, n) => s + (after.get(n.name)! - before.get(n.name)!), 0) / nodes.length / 10;
  log(`idle, frames' bytes sent per node: core ${perSecond(cores).toFixed(0)} B/s, replicant ${perSecond(initial).toFixed(0)} B/s`);
  const carried = cores.map((c) => c.node!.peers.upLinks().filter((l) => c.node!.isReplicant(l.peerName)).length);
  log(`replicants carried per core: ${carried.join(', ')} (at most ${DEFAULT_TUNING.roles.maxReplicantLinks})`);

  // Churn, writes, and a core crashed for 20 s in the middle.
  const acked = new Map<string, string>();
  let seq = 0;
  let churned = 0;
  const stopped = new Set<SimNode>();
  const t0 = w.sched.now;
  const victim = cores[1];
  w.sched.at(t0 + churnMs / 2 - 10_000, () => {
    log(`crashing core ${victim.name}`);
    victim.crash();
  });
  w.sched.at(t0 + churnMs / 2 + 10_000, () => victim.start());
  for (let t = 0; t < churnMs; t += 250) {
    w.sched.at(t0 + t, () => {
      const running = w.running.filter((n) => n.index >= 3);
      const pick = running[Math.floor(w.random.fraction() * running.length)];
      const what = w.random.fraction();
      churned++;
      if (what < 0.3 && pick) {
        pick.crash();
        w.sched.after(1000 + w.random.fraction() * 3000, () => pick.start());
      } else if (what < 0.5 && pick) {
        pick.crash(); // stopped for good (an autoscaling group shrinking)
        stopped.add(pick);
      } else {
        const next = spare.find((s) => !s.running && s.runs === 0);
        if (next) next.start(); // added (the group growing)
      }
      const writer = running[Math.floor(w.random.fraction() * running.length)];
      if (writer?.running) {
        const key = `k${++seq}`;
        writer.call((n) => n.data.put(key, writer.name)).then(
          (r) => (r.failed.length ? undefined : acked.set(key, writer.name)),
          () => undefined,
        );
      }
    });
  }
  await w.run(churnMs);
  // Replicants stopped for good are removed as an operator (or autoclean, after its 24 h) would.
  const core = cores[0];
  let removing = 0;
  for (const s of stopped) {
    if (s.running || !core.node!.isMember(s.name)) continue;
    removing++;
    core.call((n) => n.joins.forceLeave(s.name)).finally(() => removing--).catch(() => undefined);
  }
  await w.runUntil(() => removing === 0, 30_000, 100);
  const settled = await w.runUntil(() => w.converged() && w.running.every((n) => [...acked].every(([k, v]) => n.node!.data.get(k) === v)), 60_000, 200);
  log(`churn: ${churned} changes, ${acked.size} of ${seq} writes acknowledged by every core; ${settled === undefined ? 'NOT settled' : `settled ${settled} ms`} after the churn (${((performance.now() - realStart) / 1000).toFixed(0)} s real)`);
  if (settled === undefined) violations.push('not one cluster with every acknowledged write within 60 s after the churn');
  for (const c of cores) {
    const n = c.node!.peers.upLinks().filter((l) => c.node!.isReplicant(l.peerName)).length;
    if (n > DEFAULT_TUNING.roles.maxReplicantLinks) violations.push(`${c.name} carries ${n} replicants`);
  }
  for (const r of w.running.filter((n) => n.index >= 3)) if (!r.node!.coreLinked()) violations.push(`${r.name} is linked to no core`);
  for (const e of w.errors) violations.push(`error logged: ${e}`);
  for (const v of violations.slice(0, 20)) log(`VIOLATED: ${v}`);
  log(violations.length ? `${violations.length} violation(s)` : 'every check held');
  return violations.length ? 1 : 0;
}

// Until main() says otherwise: a run that ends early (an await nothing resolves) must not pass.
process.exitCode = 1;
main().then((code) => (process.exitCode = code));
