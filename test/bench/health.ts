import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { Fleet, MUSTER, waitFor } from '../support/agents';
import { processUsage } from './clusters';

const HEALTH_SCRIPT = path.resolve(__dirname, '../../node-agent/docker/muster-health.bash');

/**
 * Children's CPU seconds (user + system) of `count` runs of `command` in a loop, from bash's `times`
 * (its second line: the children's user and system time), so every process a check starts counts.
 */
function loopCpuS(command: string, count: number, env: NodeJS.ProcessEnv): number {
  const out = execFileSync('bash', ['-c', `for i in $(seq ${count}); do ${command} >/dev/null 2>&1 || exit 1; done; times`], { env, encoding: 'utf8' });
  const [user, sys] = out.trim().split('\n')[1].split(/\s+/).map((t) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(t);
    if (!m) throw new Error(`bash's times printed '${t}'`);
    return Number(m[1]) * 60 + Number(m[2]);
  });
  return user + sys;
}

/**
 * One ready agent, checked the two ways the node image can: `muster ctl cluster ready` (a Node.js
 * process per check) and `muster-health` (bash's /dev/tcp to the HTTP listener). CPU per check is
 * the checker's processes plus the agent's own CPU while it answered; then the agent's RSS with
 * the listener after those checks and a few metrics scrapes.
 */
export async function healthRound(add: (figure: string, v: number, unit?: string) => void, log: (s: string) => void): Promise<void> {
  const fleet = new Fleet({ MUSTER_NODE__COOKIE: 'bench-cookie-long-enough' });
  try {
    const a = fleet.agent('muster@127.0.35.2');
    await a.start();
    const env = { PATH: `${path.dirname(MUSTER)}:${process.env.PATH}`, MUSTER_NODE__NAME: a.name, MUSTER_NODE__COOKIE: 'bench-cookie-long-enough', MUSTER_NODE__DATA_DIR: a.dataDir };
    await waitFor(async () => (await fetch(`http://${a.host}:18083/status/ready`)).ok, 10_000, 'the agent to be ready');
    const pid = a.proc!.pid!;
    const measure = (label: string, command: string, count: number) => {
      const agent0 = processUsage(pid).cpu;
      const checker = loopCpuS(command, count, env);
      const agent = processUsage(pid).cpu - agent0;
      const perCheckMs = ((checker + agent) / count) * 1000;
      log(`  ${label}: ${perCheckMs.toFixed(2)} ms of CPU per check (checker ${((checker / count) * 1000).toFixed(2)} ms, agent ${((agent / count) * 1000).toFixed(2)} ms)`);
      add(`CPU per health check: ${label}`, perCheckMs, 'ms');
    };
    measure('muster ctl cluster ready (Node.js)', `${MUSTER} ctl cluster ready`, 10);
    measure('muster-health (HTTP, bash /dev/tcp)', HEALTH_SCRIPT, 200);
    // What any check costs here before it does anything: starting a process, and starting bash.
    measure('floor: /bin/true (one process start)', '/bin/true', 200);
    measure('floor: bash -c true', 'bash -c true', 200);
    for (let i = 0; i < 3; i++) await (await fetch(`http://${a.host}:18083/metrics`)).text();
    add('agent RSS with the HTTP listener (after 610 checks, 3 scrapes)', processUsage(pid).rss / 1e6, 'MB');
    // The same agent without the listener, for what the listener and prom-client cost in memory.
    const b = fleet.agent('muster@127.0.35.3', { MUSTER_HTTP__ENABLE: 'false' });
    await b.start();
    await waitFor(async () => (await b.ctl(['cluster', 'ready'])).code === 0, 10_000, 'the second agent to be ready');
    add('agent RSS without the HTTP listener (http.enable = false)', processUsage(b.proc!.pid!).rss / 1e6, 'MB');
  } finally {
    await fleet.close();
  }
}
