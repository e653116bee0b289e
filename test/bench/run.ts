import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { MusterCluster } from '../../stacks/constructs/muster-cluster';
import { DockerProvider, TerraformStack, TerraformVariable, Testing } from '../../stacks/lib/cdktf';
import { Fleet, MUSTER, staticSeedsEnv } from '../support/agents';
import { NetLab, type HostCut } from '../support/netlab';
import { DnsServer } from '../support/dns-server';
import { EtcdServer } from '../support/etcd-server';
import { dataRound } from './data';
import { healthRound } from './health';
import { startCpuRound } from './start-cpu';
import { stats } from './stats';
import { tcpHealReference } from './tcp-heal-reference';
import { bareNodeListening, benchHosts, processUsage, startMuster, startSerf } from './clusters';
import { allSee, formation, sleep } from './observe';
import { rolesRound } from './roles';

/**
 * `npm run bench`: Muster and Serf side by side, same machine, same run, same N, same procedure.
 * Writes bench/results/<date>-<commit>.md with min / median / max per figure and an SVG plot.
 */

export interface BenchOptions {
  ns: number[];
  /** N values Muster runs that Serf does not (the machine's limits). */
  musterOnlyNs: number[];
  reps: number;
  /** N values for formation with etcd and DNS discovery (default: `ns`). */
  discoveryNs?: number[];
  /** Idle window for CPU and bytes; the issue's figure is 30 s. */
  idleMs: number;
  outDir: string;
  log?: (s: string) => void;
  /** Which parts run (default: all); `BENCH_ONLY=roles` runs 3 cores + 100 replicants against 103 cores alone, `BENCH_ONLY=data` runs the data writes alone, `BENCH_ONLY=health` the health checks, `BENCH_ONLY=heal` the partition heal alone, `BENCH_ONLY=start` the CPU from exec to listening alone (both are part of membership). */
  parts?: ('membership' | 'data' | 'health' | 'heal' | 'start' | 'roles')[];
  /** N for the roles round (3 cores + N - 3 replicants against N cores). @default 103 */
  rolesN?: number;
}

type Figure = { figure: string; n: number; system: string; values: number[]; unit: string };

const SUBNET = { muster: '127.0.31', serf: '127.0.32' };
/** Between formation and the idle window (RSS and idle CPU). */
const IDLE_SETTLE_MS = 6000;
const start = (system: 'muster' | 'serf', n: number) => (system === 'muster' ? startMuster(n, SUBNET.muster) : startSerf(n, SUBNET.serf));

async function loopbackRound(system: 'muster' | 'serf', n: number, idleMs: number, add: (f: string, v: number, unit?: string) => void): Promise<void> {
  const limit = 60_000 + n * 1000;
  // Formation, then a crash (SIGKILL) of the last node.
  let c = await start(system, n);
  try {
    await formation(c, limit, '', add);
    // The window starts once formation's after-effects are over for both systems (Muster: the
    // stall watch ticks for 5 s after the last link is made, links no longer wanted close after 5 s).
    await sleep(IDLE_SETTLE_MS);
    const usage0 = c.pids.map(processUsage);
    await sleep(idleMs);
    const usage1 = c.pids.map(processUsage);
    add('RSS per agent', usage1.reduce((s, u) => s + u.rss, 0) / n / 1e6, 'MB');
    add(`idle CPU per agent per ${idleMs / 1000}s`, usage1.reduce((s, u, i) => s + u.cpu - usage0[i].cpu, 0) / n, 's');
    const victim = n - 1;
    const t0 = Date.now();
    c.signal(victim, 'SIGKILL');
    const seen = await allSee(c, [...c.names.keys()].filter((i) => i !== victim), (a) => !a.includes(c.names[victim]), limit, `${system} crash detection`);
    add('crash detection (SIGKILL)', seen - t0);
  } finally {
    await c.close();
  }
  // Silent loss (SIGSTOP), then graceful leave on a fresh cluster.
  c = await start(system, n);
  try {
    await allSee(c, [...c.names.keys()], (a) => a.length === n, limit, `${system} ${n} formation`);
    const victim = n - 1;
    let t0 = Date.now();
    c.signal(victim, 'SIGSTOP');
    let seen = await allSee(c, [...c.names.keys()].filter((i) => i !== victim), (a) => !a.includes(c.names[victim]), limit, `${system} silent loss`);
    add('silent-loss detection (SIGSTOP)', seen - t0);
    c.signal(victim, 'SIGCONT');
    await allSee(c, [...c.names.keys()], (a) => a.length === n, limit, `${system} recovery after SIGCONT`);
    const leaver = n - 2;
    t0 = Date.now();
    await c.leave(leaver);
    seen = await allSee(c, [...c.names.keys()].filter((i) => i !== leaver), (a) => !a.includes(c.names[leaver]), limit, `${system} leave`);
    add('graceful leave propagation', seen - t0);
  } finally {
    await c.close();
  }
}

/**
 * Formation with a discovery service instead of static seeds: a real etcd (each run under its own
 * key prefix) or a real BIND 9 serving one A record per node. Same clock as the static rounds.
 */
async function discoveryRound(n: number, env: Record<string, string>, label: string, add: (f: string, v: number, unit?: string) => void): Promise<void> {
  const c = await startMuster(n, SUBNET.muster, env);
  try {
    await formation(c, 60_000 + n * 1000, ` (${label})`, add);
  } finally {
    await c.close();
  }
}

/**
 * test/bench/running-observer.mjs in a namespace: `until(k)` resolves with the moment the agent's
 * running count became k (the midpoint of the observer's last "not yet" and first "yes" looks).
 */
function runningObserver(netns: string, url: string): { proc: ChildProcess; until: (k: number, limitMs: number) => Promise<number> } {
  const proc = spawn('ip', ['netns', 'exec', netns, process.execPath, path.join(__dirname, 'running-observer.mjs'), url], { stdio: ['ignore', 'pipe', 'ignore'] });
  const seen: { at: number; count: number }[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    const [prevEnd, end, count] = line.split(' ').map(Number);
    seen.push({ at: (prevEnd + end) / 2, count });
    for (const w of waiters) w();
  });
  const until = (k: number, limitMs: number) =>
    new Promise<number>((resolve, reject) => {
      const from = seen.length;
      const check = () => {
        const hit = seen.slice(from).find((x) => x.count === k) ?? (seen.at(-1)?.count === k ? seen.at(-1) : undefined);
        if (!hit) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(hit.at);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out: the observer in ${netns} never saw ${k} running`));
      }, limitMs);
      waiters.add(check);
      check();
    });
  return { proc, until };
}

/** Serf asked back to back until it lists `want` alive: the midpoint of the last "not yet" answer and the first "yes". */
async function serfSeesAll(alive: () => Promise<number>, want: number, limitMs: number): Promise<number> {
  const deadline = Date.now() + limitMs;
  let prevEnd = Date.now();
  for (;;) {
    const k = await alive().catch(() => -1);
    const end = Date.now();
    if (k === want) return (prevEnd + end) / 2;
    if (end > deadline) throw new Error(`timed out: serf never listed ${want} alive`);
    prevEnd = end;
    await sleep(10);
  }
}

/** The partition heal figure of each way of cutting the last host off (NetLab's HostCut). */
export const HEAL_FIGURE: Record<HostCut, string> = {
  link: 'partition heal after the link returns',
  split: 'partition heal after a split ends',
};

/** Idle bytes per node per second, counted on each host's own link, and partition heal (`heal`: how the last host is cut off), in network namespaces. */
export async function netnsRound(system: 'muster' | 'serf', n: number, idleMs: number, heal: HostCut | undefined, add: (f: string, v: number, unit?: string) => void): Promise<void> {
  const lab = new NetLab();
  const fleet = new Fleet({ MUSTER_NODE__COOKIE: 'bench-cookie' });
  const procs: ChildProcess[] = [];
  try {
    lab.setup(n);
    const hosts = Array.from({ length: n }, (_, i) => lab.address(i));
    if (system === 'muster') {
      const names = hosts.map((h) => `muster@${h}`);
      const env = staticSeedsEnv(names);
      await Promise.all(names.map((nm, i) => fleet.agent(nm, env, lab.netns(i)).start({}, 15_000 + n * 500)));
    } else {
      hosts.forEach((h, i) =>
        procs.push(spawn('ip', ['netns', 'exec', lab.netns(i), 'serf', 'agent', `-node=s${i}`, `-bind=${h}:7946`, '-rpc-addr=127.0.0.1:7373', ...hosts.map((s) => `-retry-join=${s}:7946`), '-retry-interval=1s', '-log-level=warn'], { stdio: 'ignore' })),
      );
    }
    const aliveFrom0 = async (): Promise<number> => {
      if (system === 'muster') return (await fleet.agents[0].status()).running_nodes.length;
      const out = execFileSync('ip', ['netns', 'exec', lab.netns(0), 'serf', 'members', '-rpc-addr=127.0.0.1:7373', '-format=json'], { encoding: 'utf8', timeout: 5000 });
      return (JSON.parse(out) as { members: { status: string }[] }).members.filter((m) => m.status === 'alive').length;
    };
    // Observed by a process spawned inside the namespace: polled gently so it does not load the machine.
    const poll = async (want: number, what: string) => {
      const deadline = Date.now() + 60_000 + n * 2000;
      while ((await aliveFrom0().catch(() => -1)) !== want) {
        if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
        await sleep(300);
      }
    };
    await poll(n, `${system} formation in netns`);
    await sleep(3000);
    const counters = () => Array.from({ length: n }, (_, i) => {
      const lines = execFileSync('ip', ['-n', lab.hub, '-s', 'link', 'show', `p${i}`], { encoding: 'utf8' }).split('\n');
      const rx = Number(lines[lines.findIndex((l) => l.trim().startsWith('RX:')) + 1].trim().split(/\s+/)[0]);
      const tx = Number(lines[lines.findIndex((l) => l.trim().startsWith('TX:')) + 1].trim().split(/\s+/)[0]);
      return rx + tx;
    });
    const b0 = counters();
    await sleep(idleMs);
    const b1 = counters();
    add('idle bytes/s per node (in + out)', b1.reduce((s, b, i) => s + b - b0[i], 0) / n / (idleMs / 1000), 'B/s');
    if (heal) {
      // Heal is seen by a fast observer in the first node's namespace, its moment the midpoint
      // between the end of its last "not yet" look and the end of its first "yes" (as formation):
      // Muster's HTTP API from a long-lived process (a few ms a look), Serf's `serf members`
      // (a Go process, 10-30 ms a look). Until 2026-12-06 both were the look that first said
      // "yes", Muster's through `muster ctl` (about 200 ms to start), which was most of its figure.
      const watch = system === 'muster' ? runningObserver(lab.netns(0), `http://${hosts[0]}:18083/api/v1/nodes`) : undefined;
      if (watch) procs.push(watch.proc);
      lab.isolate(n - 1, heal, true);
      await poll(n - 1, `${system} partition seen`);
      if (watch) await watch.until(n - 1, 10_000);
      const t0 = Date.now();
      lab.isolate(n - 1, heal, false);
      const at = watch ? await watch.until(n, 60_000) : await serfSeesAll(() => aliveFrom0(), n, 60_000);
      add(HEAL_FIGURE[heal], at - t0);
    }
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    await fleet.close();
    lab.close();
  }
}

function fmt(v: number, unit: string): string {
  if (unit === 'ms') return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`;
  if (unit === 's') return `${v.toFixed(3)} s`;
  if (unit === 'MB') return `${v.toFixed(1)} MB`;
  if (unit === 'x') return `${v.toFixed(2)}x`;
  return `${Math.round(v)} ${unit}`;
}

/** A small SVG line chart: medians against N, one line per system, one panel per figure. */
function svg(figures: Figure[]): string {
  const names = [
    'formation from last listener',
    'formation from launch',
    'silent-loss detection (SIGSTOP)',
    'crash detection (SIGKILL)',
    'idle bytes/s per node (in + out)',
    'RSS per agent',
  ];
  // Drawn in the formation-from-launch panel: the floor any Node.js program has on this machine.
  const reference: Record<string, string> = { 'formation from launch': 'bare Node.js processes: launch to all listening' };
  const W = 420;
  const H = 220;
  const colors: Record<string, string> = { muster: '#1f77b4', serf: '#d62728', 'node (reference)': '#888888' };
  const panels = names.map((name, pi) => {
    const rows = figures.filter((f) => f.figure === name || f.figure === reference[name]);
    const ns = [...new Set(rows.map((r) => r.n))].sort((a, b) => a - b);
    const max = Math.max(1, ...rows.map((r) => stats(r.values).median));
    const x = (n: number) => 50 + (ns.length > 1 ? (ns.indexOf(n) / (ns.length - 1)) * (W - 80) : (W - 80) / 2);
    const y = (v: number) => H - 30 - (v / max) * (H - 60);
    const lines = Object.keys(colors).map((sys) => {
      const pts = rows.filter((r) => r.system === sys).sort((a, b) => a.n - b.n).map((r) => `${x(r.n).toFixed(1)},${y(stats(r.values).median).toFixed(1)}`);
      return pts.length ? `<polyline fill="none" stroke="${colors[sys]}" stroke-width="2" points="${pts.join(' ')}"/>${pts.map((p) => `<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="3" fill="${colors[sys]}"/>`).join('')}` : '';
    });
    const unit = rows[0]?.unit ?? '';
    const ticks = ns.map((n) => `<text x="${x(n)}" y="${H - 12}" font-size="11" text-anchor="middle">N=${n}</text>`).join('');
    return `<g transform="translate(${(pi % 2) * W},${Math.floor(pi / 2) * H})"><text x="10" y="16" font-size="13">${name} (median, ${unit}; max ${fmt(max, unit)})</text><line x1="45" y1="${H - 30}" x2="${W - 20}" y2="${H - 30}" stroke="#999"/>${ticks}${lines.join('')}</g>`;
  });
  const rowsOfPanels = Math.ceil(names.length / 2);
  const legend = `<text x="10" y="${rowsOfPanels * H + 18}" font-size="12" fill="${colors.muster}">— Muster</text><text x="90" y="${rowsOfPanels * H + 18}" font-size="12" fill="${colors.serf}">— Serf</text><text x="160" y="${rowsOfPanels * H + 18}" font-size="12" fill="${colors['node (reference)']}">— bare Node.js processes (launch to listening)</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${rowsOfPanels * H + 30}" font-family="sans-serif">${panels.join('')}${legend}</svg>\n`;
}

function version(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).split('\n')[0].trim();
  } catch {
    return 'unknown';
  }
}

export async function runBench(o: BenchOptions): Promise<{ markdown: string; file: string; figures: Figure[]; failures: string[] }> {
  const log = o.log ?? (() => undefined);
  const figures: Figure[] = [];
  const failures: string[] = [];
  /** A measurement that fails is reported in the results, and the run goes on. */
  const attempt = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      failures.push(`${what}: ${(e as Error).message}`);
      log(`FAILED ${what}: ${(e as Error).message}`);
    }
  };
  const adder = (system: string, n: number) => (figure: string, v: number, unit = 'ms') => {
    let f = figures.find((x) => x.figure === figure && x.n === n && x.system === system);
    if (!f) figures.push((f = { figure, n, system, values: [], unit }));
    f.values.push(v);
  };
  const healN = 5;
  const parts = o.parts ?? ['membership', 'data', 'health', 'roles'];
  if (parts.includes('membership')) await membership();
  else if (parts.includes('heal')) await heal();
  else if (parts.includes('start')) for (let rep = 0; rep < o.reps; rep++) await startCpu();
  if (parts.includes('health')) {
    for (let rep = 0; rep < o.reps; rep++) {
      log(`muster health checks rep ${rep + 1}/${o.reps}`);
      await attempt('muster health checks', () => healthRound(adder('muster', 1), log));
    }
  }
  if (parts.includes('roles')) {
    const n = o.rolesN ?? 103;
    for (let rep = 0; rep < o.reps; rep++) {
      for (const layout of ['replicants', 'cores'] as const) {
        log(`muster N=${n} as ${layout === 'replicants' ? `3 cores + ${n - 3} replicants` : `${n} cores`} rep ${rep + 1}/${o.reps}`);
        await attempt(`muster N=${n} ${layout}`, () => rolesRound(layout, n, '127.0.36', o.idleMs, adder(layout === 'replicants' ? 'muster 3 cores + replicants' : 'muster cores only', n)));
      }
    }
  }
  if (parts.includes('data')) {
    for (let rep = 0; rep < o.reps; rep++) {
      log(`muster data writes rep ${rep + 1}/${o.reps}`);
      await attempt('muster data writes', () => dataRound(adder('muster', 3), log));
    }
  }
  async function startCpu(): Promise<void> {
    await attempt('CPU from exec to listening', async () => {
      const cpu = await startCpuRound(9, '127.0.33.3');
      adder('muster', 1)('CPU from exec to listening (median of 9)', cpu.agent);
      adder('node (reference)', 1)('CPU from exec to listening (median of 9)', cpu.bare);
      adder('muster', 1)('CPU to listening: agent / bare node', cpu.agent / cpu.bare, 'x');
    });
  }
  async function heal(): Promise<void> {
    for (let rep = 0; rep < o.reps; rep++) {
      // The cut lasts about as long as the systems' own rounds (detection, then the link returns).
      for (const cut of ['link', 'split'] as const) {
        await attempt(`TCP heal reference N=${healN} (${cut})`, async () => adder('tcp (reference)', healN)(HEAL_FIGURE[cut], await tcpHealReference(healN, 3000, cut)));
        for (const system of ['muster', 'serf'] as const) {
          log(`${system} partition heal N=${healN} (${cut}) rep ${rep + 1}`);
          await attempt(`${system} heal N=${healN} (${cut})`, () =>
            netnsRound(system, healN, Math.min(o.idleMs, 2000), cut, (f, v, u) => (f.startsWith('partition') ? adder(system, healN)(f, v, u) : undefined)),
          );
        }
      }
    }
  }
  async function membership(): Promise<void> {
    const allNs = [...o.ns, ...o.musterOnlyNs].sort((a, b) => a - b);
    for (const n of allNs) {
      for (let rep = 0; rep < o.reps; rep++) {
        await attempt(`bare node N=${n}`, async () => adder('node (reference)', n)('bare Node.js processes: launch to all listening', await bareNodeListening(n, '127.0.34')));
      }
      const systems: ('muster' | 'serf')[] = o.ns.includes(n) ? ['muster', 'serf'] : ['muster'];
      for (let rep = 0; rep < o.reps; rep++) {
        for (const system of systems) {
          log(`${system} N=${n} rep ${rep + 1}/${o.reps}`);
          await attempt(`${system} N=${n} loopback`, () => loopbackRound(system, n, o.idleMs, adder(system, n)));
          await attempt(`${system} N=${n} netns`, () => netnsRound(system, n, o.idleMs, undefined, adder(system, n)));
        }
      }
    }
    // Formation through etcd and through DNS, for the same N as the side-by-side figures.
    const etcd = new EtcdServer('127.0.0.1', 23879, 23880);
    const dnsNs = [...new Set(o.discoveryNs ?? o.ns)];
    const dns = new DnsServer('127.0.0.1', 53591, 'bench.test');
    let run = 0;
    await attempt('etcd and DNS servers', async () => {
      if (!dnsNs.length) return;
      await etcd.start();
      await dns.start({ a: Object.fromEntries(dnsNs.map((n) => [`n${n}`, benchHosts(n, SUBNET.muster)])) });
      for (const n of dnsNs) {
        for (let rep = 0; rep < o.reps; rep++) {
          log(`muster N=${n} etcd and DNS discovery rep ${rep + 1}/${o.reps}`);
          const etcdEnv = { MUSTER_CLUSTER__DISCOVERY_STRATEGY: 'etcd', MUSTER_CLUSTER__ETCD__SERVER: etcd.url, MUSTER_CLUSTER__ETCD__PREFIX: `bench${++run}` };
          await attempt(`muster N=${n} etcd discovery`, () => discoveryRound(n, etcdEnv, 'etcd discovery', adder('muster', n)));
          const dnsEnv = { MUSTER_CLUSTER__DISCOVERY_STRATEGY: 'dns', MUSTER_CLUSTER__DNS__NAME: `n${n}.bench.test`, MUSTER_CLUSTER__DNS__RECORD_TYPE: 'a', MUSTER_CLUSTER__DNS__SERVERS: `["${dns.server}"]` };
          await attempt(`muster N=${n} DNS discovery`, () => discoveryRound(n, dnsEnv, 'DNS A discovery', adder('muster', n)));
        }
      }
    });
    await etcd.close();
    await dns.close();
    await heal();
    // The kit and the agent on their own.
    for (let rep = 0; rep < o.reps; rep++) {
      const t0 = Date.now();
      const app = Testing.app();
      const stack = new TerraformStack(app, 'bench');
      new DockerProvider(stack, 'docker', {});
      new MusterCluster(stack, 'c', { nodes: 100, discovery: { strategy: 'dns', recordType: 'srv' }, cookie: new TerraformVariable(stack, 'cookie', { type: 'string', sensitive: true }).stringValue, network: { subnet: '10.50.0.0/24' } });
      Testing.synth(stack, true);
      adder('muster', 100)('cdktf synth of a 100-node stack', Date.now() - t0);
      const fleet = new Fleet();
      const a = fleet.agent('muster@127.0.33.2');
      const s0 = Date.now();
      await a.start();
      adder('muster', 1)('agent cold start to listening', Date.parse(String(a.lines.find((l) => l.msg.startsWith('listening on'))?.time)) - s0);
      await fleet.close();
      await startCpu();
    }
  }
  let commit = 'uncommitted';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    // not a checkout
  }
  const date = new Date().toISOString().slice(0, 10);
  const base = `${date}-${commit}`;
  const rows = figures
    .sort((a, b) => (a.figure < b.figure ? -1 : a.figure > b.figure ? 1 : a.n - b.n || (a.system < b.system ? -1 : 1)))
    .map((f) => {
      const s = stats(f.values);
      return `| ${f.figure} | ${f.n} | ${f.system} | ${fmt(s.min, f.unit)} | ${fmt(s.median, f.unit)} | ${fmt(s.max, f.unit)} | ${f.values.length} |`;
    });
  const markdown = [
    `# Benchmark ${date} (${commit})`,
    '',
    `Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}). Muster ${version(MUSTER, ['--version'])} at ${commit} (Node.js ${process.version}); Serf: ${version('serf', ['version'])}.`,
    `Repetitions: ${o.reps}. Idle window: ${o.idleMs / 1000} s. Loopback (127.0.31.x / 127.0.32.x) for formation, detection, leave, RSS and CPU, each node observed on its own schedule every 50 ms (every 2N ms from N = 25 up) from the moment it listens, through each system's own control protocol (muster ctl status, Serf RPC members), its moment taken as the midpoint between its last \"not yet\" and its first \"yes\" (results before 2026-11-26 13:30 UTC took the \"yes\", and waited for all Muster nodes to listen before asking any; until 0fd5a71 all nodes were asked in lockstep rounds); the idle window (RSS, idle CPU) starting ${IDLE_SETTLE_MS / 1000} s after formation (before 2026-12-07 at once, so it held Muster's last seconds of settling); network namespaces for bytes on each host's link and partition heal (N = ${healN}: the last host cut off until the others show it stopped, then back, by its link taken down and up, where it must resolve its neighbours' addresses again, or since 2026-12-07 also by a split that keeps the carrier, its port on a bridge of its own; seen from the first node, Muster through its HTTP API by a long-lived observer and Serf through \`serf members\` back to back, the moment the midpoint of the last "not yet" and the first "yes"; before 2026-12-06, Muster through a \`muster ctl\` per look, about 200 ms each, and both at the first "yes"). "tcp (reference)" is the network's own part of a heal: a fresh TCP connect from the first host to the last, every 10 ms, with both dialling each other through the cut as members do; after a link cut, a host that kept sending into it answers only once it has resolved its neighbour's address again (ARP).`,
    `Formation with etcd and DNS discovery: a real etcd (${version('etcd', ['--version'])}) and BIND 9 (${version('named', ['-v'])}) on 127.0.0.1, the agents using them instead of static seeds (DNS: one A record per node).`,
    'For reference, "bare Node.js processes" is the time N `node` processes that only open a listening socket take from launch until all listen: the floor under any Node.js agent\'s formation from launch on this machine.',
    'Serf runs with its default LAN settings and -retry-join to the same seeds as Muster\'s static list; its retry interval is 1 s instead of 30 s so a seed not up yet does not cost 30 s.',
    '',
    '| figure | N | system | min | median | max | runs |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `![figures against N](${base}.svg)`,
    '',
    ...(failures.length ? ['## Measurements that failed', '', ...failures.map((f) => `- ${f}`), ''] : []),
  ].join('\n');
  mkdirSync(o.outDir, { recursive: true });
  const file = path.join(o.outDir, `${base}.md`);
  writeFileSync(file, markdown);
  writeFileSync(path.join(o.outDir, `${base}.svg`), svg(figures));
  return { markdown, file, figures, failures };
}

if (require.main === module) {
  const list = (v: string | undefined, d: number[]) => (v === undefined ? d : v.split(',').filter(Boolean).map(Number));
  runBench({
    ns: list(process.env.BENCH_NS, [3, 10, 30]),
    musterOnlyNs: list(process.env.BENCH_MUSTER_ONLY_NS, [100]),
    discoveryNs: process.env.BENCH_DISCOVERY_NS === undefined ? undefined : list(process.env.BENCH_DISCOVERY_NS, []),
    reps: Number(process.env.BENCH_REPS ?? 3),
    idleMs: Number(process.env.BENCH_IDLE_MS ?? 30_000),
    outDir: path.resolve(__dirname, '../../bench/results'),
    parts: ['data', 'membership', 'health', 'heal', 'start', 'roles'].includes(process.env.BENCH_ONLY ?? '') ? [process.env.BENCH_ONLY as 'data'] : undefined,
    rolesN: process.env.BENCH_ROLES_N === undefined ? undefined : Number(process.env.BENCH_ROLES_N),
    log: (s) => process.stderr.write(`${s}\n`),
  }).then(
    (r) => process.stdout.write(`${r.markdown}\nwritten: ${r.file}\n`),
    (e: Error) => {
      process.stderr.write(`bench failed: ${e.message}\n`);
      process.exit(1);
    },
  );
}
