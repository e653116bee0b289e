import { benchHosts, processUsage, startMuster } from './clusters';
import { formation, sleep } from './observe';
import { staticSeedsEnv } from '../support/agents';

/**
 * Core and replicant nodes against cores only, side by side in one run (issue 23): N agents on
 * loopback as 3 cores (the static seeds) and N - 3 replicants, or as N cores (every node a seed,
 * as the bench's other rounds start Muster). Figures: formation from the launch and from the last
 * listener, then over an idle window the CPU per agent and the frames' bytes each sends (its own
 * count, muster_transport_bytes_total on /metrics), for cores and replicants apart.
 */
export async function rolesRound(layout: 'cores' | 'replicants', n: number, subnet: string, idleMs: number, add: (figure: string, v: number, unit?: string) => void): Promise<void> {
  const names = benchHosts(n, subnet).map((h) => `muster@${h}`);
  const replicant = (i: number) => layout === 'replicants' && i >= 3;
  const env = layout === 'replicants' ? staticSeedsEnv(names.slice(0, 3)) : staticSeedsEnv(names);
  const c = await startMuster(n, subnet, env, (i): Record<string, string> => (replicant(i) ? { MUSTER_NODE__ROLE: 'replicant' } : {}));
  try {
    await formation(c, 60_000 + n * 1000, '', add);
    await sleep(5000); // links no longer wanted are closed after 5 s
    const hosts = benchHosts(n, subnet);
    const bytes0 = await Promise.all(hosts.map(bytesSent));
    const usage0 = c.pids.map(processUsage);
    await sleep(idleMs);
    const usage1 = c.pids.map(processUsage);
    const bytes1 = await Promise.all(hosts.map(bytesSent));
    const groups = layout === 'replicants' ? ([['core', (i: number) => !replicant(i)], ['replicant', replicant]] as const) : ([['core', () => true]] as const);
    for (const [role, isIn] of groups) {
      const idx = [...names.keys()].filter(isIn);
      add(`idle CPU per ${role} per ${idleMs / 1000}s`, idx.reduce((s, i) => s + usage1[i].cpu - usage0[i].cpu, 0) / idx.length, 's');
      add(`idle bytes sent per ${role} (frames)`, idx.reduce((s, i) => s + bytes1[i] - bytes0[i], 0) / idx.length / (idleMs / 1000), 'B/s');
      add(`RSS per ${role}`, idx.reduce((s, i) => s + usage1[i].rss, 0) / idx.length / 1e6, 'MB');
    }
  } finally {
    await c.close();
  }
}

/** The bytes of frames an agent has sent, from its /metrics (the HTTP listener on its address). */
async function bytesSent(host: string): Promise<number> {
  const res = await fetch(`http://${host}:18083/metrics`, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`GET http://${host}:18083/metrics: ${res.status}`);
  let sum = 0;
  for (const line of (await res.text()).split('\n')) {
    const m = /^muster_transport_bytes_total\{([^}]*)\} (\d+(?:\.\d+)?(?:e\+\d+)?)$/.exec(line);
    if (m && /direction="out"/.test(m[1])) sum += Number(m[2]);
  }
  return sum;
}
