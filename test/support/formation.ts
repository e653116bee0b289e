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
