import assert from 'node:assert/strict';
import { Fleet, waitForStatus } from './agents';

/**
 * Starts `names` all at once, `runs` times in a row, each run with fresh data dirs, and waits each
 * time for ONE cluster of all of them on every node. Returns how long each run took to form.
 */
export async function formRepeatedly(runs: number, names: string[], env: (run: number) => Record<string, string>): Promise<number[]> {
  const times: number[] = [];
  for (let run = 1; run <= runs; run++) {
    const fleet = new Fleet();
    try {
      const started = Date.now();
      const agents = await fleet.startAll(names, env(run));
      await waitForStatus(agents, names, [], 60_000, true);
      times.push(Date.now() - started);
      const ids = new Set(await Promise.all(agents.map(async (a) => (await a.statusDirect()).cluster_id)));
      if (ids.size !== 1) throw new Error(`run ${run}: ${ids.size} cluster ids, expected one`);
    } finally {
      await fleet.close();
    }
  }
  return times;
}

/**
 * Starts `cores` and `replicants` (node.role = replicant) all at once with `env` and waits for ONE
 * cluster of all of them on every node, then checks what `cluster status --json` says of the roles
 * and that each replicant is linked to cores only. The fleet stops them.
 */
export async function formCoresAndReplicants(fleet: Fleet, cores: string[], replicants: string[], env: Record<string, string>): Promise<void> {
  const agents = [...cores.map((n) => fleet.agent(n, env)), ...replicants.map((n) => fleet.agent(n, { ...env, MUSTER_NODE__ROLE: 'replicant' }))];
  await Promise.all(agents.map((a) => a.start({}, 30_000)));
  const all = [...cores, ...replicants];
  await waitForStatus(agents, all, [], 60_000, true);
  for (const a of agents) {
    const s = JSON.parse((await a.ctl(['cluster', 'status', '--json'])).stdout) as { roles: Record<string, string> };
    const want = Object.fromEntries(all.map((n) => [n, cores.includes(n) ? 'core' : 'replicant']));
    assert.deepEqual(Object.fromEntries(Object.entries(s.roles).sort()), Object.fromEntries(Object.entries(want).sort()), `roles as ${a.name} sees them`);
  }
  for (const r of agents.slice(cores.length)) {
    const ready = await r.ctl(['cluster', 'ready']);
    assert.equal(ready.code, 0, `${r.name}: ${ready.stderr}`);
    assert.match(ready.stdout, /^ready: replicant of a cluster of \d+, linked to core\(s\) /);
    for (const linked of ready.stdout.replace(/^.*linked to core\(s\) /, '').trim().split(', ')) assert.ok(cores.includes(linked), `${r.name} links to ${linked}, a core`);
  }
}
