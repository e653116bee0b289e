import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import pino from 'pino';
import { Connection } from '../../node-agent/src/transport/connection';
import { Fleet, staticSeedsEnv, type Agent } from '../support/agents';
import { SerfRpc } from './serf';

/** One benchmark cluster: N processes of one system, observed through its own control protocol. */
export interface BenchCluster {
  readonly system: 'muster' | 'serf';
  readonly names: string[];
  readonly pids: number[];
  /** When the processes were launched, and when each one first accepted a TCP connection. */
  readonly launchedAt: number;
  /** When node `i` listens, as soon as that is known (resolved at once for a node that does). */
  listening(i: number): Promise<number>;
  listenersAt(): Promise<number[]>;
  /** The members node `i` considers alive. */
  alive(i: number): Promise<string[]>;
  signal(i: number, sig: NodeJS.Signals): void;
  leave(i: number): Promise<void>;
  close(): Promise<void>;
}

export const COOKIE = 'bench-cookie';

async function waitListening(host: string, port: number, deadline: number): Promise<number> {
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect({ host, port }, () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (ok) return Date.now();
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${host}:${port} never listened`);
}

/** SIGKILLs the processes we started that still run (SIGCONT first, for stopped ones) and waits for them. */
async function killAll(procs: ChildProcess[]): Promise<void> {
  await Promise.all(
    procs.map((p) => {
      if (p.exitCode !== null || p.signalCode !== null) return undefined;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGCONT');
      p.kill('SIGKILL');
      return exited;
    }),
  );
}

/** The host addresses of an N-node bench cluster on a loopback subnet such as 127.0.31. */
export function benchHosts(n: number, subnet: string): string[] {
  return Array.from({ length: n }, (_, i) => `${subnet}.${i + 2}`);
}

/** `discoveryEnv`: how the nodes find each other; static seeds (every node) unless given. */
/** `nodeEnv`: settings of node `i` of its own (a role). */
export async function startMuster(n: number, subnet: string, discoveryEnv?: Record<string, string>, nodeEnv?: (i: number) => Record<string, string>): Promise<BenchCluster> {
  const fleet = new Fleet({ MUSTER_NODE__COOKIE: COOKIE });
  const names = benchHosts(n, subnet).map((h) => `muster@${h}`);
  const env = discoveryEnv ?? staticSeedsEnv(names);
  const launchedAt = Date.now();
  // Launched, not waited for: the bench asks each node from the moment it listens (allSee), as it
  // does Serf's, instead of from the moment the last one does.
  const agents: Agent[] = names.map((name, i) => fleet.agent(name, { ...env, ...nodeEnv?.(i) }));
  for (const a of agents) a.launch();
  // The agent logs the moment it listens, to the millisecond.
  const listenedAt = agents.map((a) => a.listening(15_000 + n * 500).then((l) => Date.parse(String(l.time))));
  // A node that never listens fails whoever waits for it (allSee, listenersAt), not the process.
  for (const p of listenedAt) p.catch(() => undefined);
  const conns: Connection[] = [];
  const ctl = async (i: number) => {
    if (!conns[i] || conns[i].isClosed) {
      conns[i] = await Connection.dial({ host: agents[i].host, port: 4370, role: 'ctl', localName: 'bench@local', cookie: COOKIE, boot: 'bench', log: pino({ enabled: false }) });
    }
    return conns[i];
  };
  return {
    system: 'muster',
    names,
    pids: agents.map((a) => a.proc!.pid!),
    launchedAt,
    listening: (i) => listenedAt[i],
    listenersAt: () => Promise.all(listenedAt),
    alive: async (i) => ((await (await ctl(i)).request('status', {}, 5000)) as { running_nodes: string[] }).running_nodes,
    signal: (i, sig) => agents[i].proc!.kill(sig),
    leave: async (i) => {
      const r = await agents[i].ctl(['cluster', 'leave']);
      if (r.code !== 0) throw new Error(r.stderr);
    },
    close: async () => {
      // BENCH_KEEP_LOGS=dir keeps every agent's log of every Muster cluster, one directory per
      // launch: what a slow or failed formation needs to be understood afterwards.
      const keep = process.env.BENCH_KEEP_LOGS;
      if (keep) {
        const dir = path.join(keep, `muster-n${n}-${launchedAt}`);
        mkdirSync(dir, { recursive: true });
        agents.forEach((a) => writeFileSync(path.join(dir, `${a.name}.log`), a.raw));
      }
      for (const c of conns) c?.close('done');
      for (const a of agents) a.proc?.kill('SIGCONT');
      await fleet.close();
    },
  };
}

export async function startSerf(n: number, subnet: string): Promise<BenchCluster> {
  const hosts = benchHosts(n, subnet);
  const names = hosts.map((_, i) => `s${i + 2}`);
  const launchedAt = Date.now();
  // Serf with its default LAN settings; -retry-join to the same seeds as Muster's static list.
  // The retry interval is shortened from 30 s to 1 s so a seed that is not up yet does not cost 30 s.
  const procs: ChildProcess[] = hosts.map((h, i) =>
    spawn('serf', ['agent', `-node=${names[i]}`, `-bind=${h}:7946`, `-rpc-addr=${h}:7373`, ...hosts.map((s) => `-retry-join=${s}:7946`), '-retry-interval=1s', '-log-level=warn'], { stdio: 'ignore' }),
  );
  const rpcs: SerfRpc[] = [];
  const rpc = async (i: number) => (rpcs[i] ??= await SerfRpc.connect(hosts[i], 7373));
  const deadline = Date.now() + 30_000;
  const listenedAt = hosts.map((h) => waitListening(h, 7946, deadline));
  for (const p of listenedAt) p.catch(() => undefined);
  return {
    system: 'serf',
    names,
    pids: procs.map((p) => p.pid!),
    launchedAt,
    listening: (i) => listenedAt[i],
    listenersAt: () => Promise.all(listenedAt),
    alive: async (i) => (await (await rpc(i)).members()).filter((m) => m.Status === 'alive').map((m) => m.Name),
    signal: (i, sig) => procs[i].kill(sig),
    leave: (i) =>
      new Promise((resolve, reject) => execFile('serf', ['leave', `-rpc-addr=${hosts[i]}:7373`], (e) => (e ? reject(e) : resolve()))),
    close: async () => {
      for (const r of rpcs) r?.close();
      await killAll(procs);
    },
  };
}

/**
 * The floor under every Node.js program on this machine: N bare `node` processes, each opening one
 * listening socket, launched at once. Returns ms from the launch until the last one listens.
 */
export async function bareNodeListening(n: number, subnet: string): Promise<number> {
  const hosts = benchHosts(n, subnet);
  const t0 = Date.now();
  const procs = hosts.map((h) => spawn(process.execPath, ['-e', `require('net').createServer().listen(4370, '${h}')`], { stdio: 'ignore' }));
  try {
    const at = await Promise.all(hosts.map((h) => waitListening(h, 4370, Date.now() + 60_000)));
    return Math.max(...at) - t0;
  } finally {
    await killAll(procs);
  }
}

/** Resident memory (bytes) and CPU seconds (user + system) of a process we started. */
export function processUsage(pid: number): { rss: number; cpu: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]);
  return { rss, cpu: ticks / 100 };
}
