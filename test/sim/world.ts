import pino, { type Logger } from 'pino';
import { Writable } from 'node:stream';
import { loadConfig } from '../../node-agent/src/config/load';
import type { Config } from '../../node-agent/src/config/schema';
import { ClusterNode } from '../../node-agent/src/membership/cluster';
import { Autocluster } from '../../node-agent/src/membership/autocluster';
import { StaticDiscovery } from '../../node-agent/src/discovery/static';
import { serveSocket } from '../../node-agent/src/serve-socket';
import { HandshakeGuard } from '../../node-agent/src/transport/handshake-guard';
import { DEFAULT_TUNING, type Tuning } from '../../node-agent/src/tuning';
import { seededRandom, type Random } from '../../node-agent/src/runtime/random';
import type { Runtime } from '../../node-agent/src/runtime';
import { Process, Scheduler } from './scheduler';
import { SimNetwork } from './network';
import { SimDiskStore } from './disk';

/** A line an agent logged at warn or above (or info, with `verbose`), with the virtual time. */
export interface LogLine {
  at: number;
  node: string;
  level: number;
  msg: string;
  peer?: string;
  by?: string;
}

export interface WorldOptions {
  seed: number;
  nodes: number;
  /** Nodes whose names every node has as static seeds (EMQX's `cluster.static.seeds`). */
  seeds?: number;
  /** How many of the nodes, the last ones, are replicants (node.role); the others are cores. @default 0 */
  replicants?: number;
  tuning?: Tuning;
  /** cluster.* settings, as in a config file (durations as strings). */
  cluster?: Record<string, unknown>;
  /** The name part's prefix before the node's number (long names make large member lists). @default 'm' */
  namePrefix?: string;
  /** Print every info line to stderr as it is logged (replaying a failing seed). */
  verbose?: boolean;
}

/** One machine of the simulated cluster: its address and disk outlive its process runs. */
export class SimNode {
  process?: Process;
  node?: ClusterNode;
  private autocluster?: Autocluster;
  readonly disk = new SimDiskStore();
  runs = 0;

  constructor(
    readonly world: World,
    readonly index: number,
    readonly name: string,
    readonly address: string,
    readonly cfg: Config,
  ) {}

  get running(): boolean {
    return !!this.process && !this.process.dead;
  }

  get frozen(): boolean {
    return !!this.process?.frozen;
  }

  /** Starts an agent process on this machine, as agent.ts does: open the state, listen, link, discover. */
  start(): void {
    const w = this.world;
    const p = (this.process = new Process(`${this.name}#${++this.runs}`));
    const rt: Runtime = {
      clock: w.sched.clockFor(p),
      net: w.net.forProcess(p, this.address),
      disk: this.disk.forProcess(w.sched, p),
      random: w.random,
    };
    const log = w.logger(this.name);
    let node: ClusterNode;
    try {
      node = this.node = ClusterNode.open(this.cfg, log, undefined, w.tuning, rt);
    } catch (e) {
      // As the agent: it exits 1 saying why (a disk that cannot be written); started again later.
      log.warn({ err: (e as Error).message }, `start failed: ${(e as Error).message}`);
      p.dead = true;
      this.process = undefined;
      return;
    }
    const guard = new HandshakeGuard(log, w.tuning.guard, rt.clock);
    w.net.listen(this.address, this.cfg.cluster.port, p, (socket) => serveSocket(node, this.cfg, log, socket, rt.clock, guard));
    node.start(this.address);
    this.autocluster = new Autocluster(node, new StaticDiscovery(this.cfg.cluster.static.seeds), 'static', log, w.tuning.discovery, rt);
    this.autocluster.start();
  }

  /**
   * SIGTERM, in agent.ts's order: it listens no more, discovery stops, every link gets its goodbye
   * (bye, then the socket ended), the state is saved, and the process exits. Resolves once it has.
   */
  async stop(): Promise<void> {
    const p = this.process;
    const node = this.node;
    if (!p || !node) return;
    this.world.net.unlisten(this.address, p);
    await new Promise<void>((resolve) => this.world.sched.after(0, () => void (async () => {
      await this.autocluster?.stop();
      await node.stop();
      resolve();
    })(), p));
    if (this.process === p) this.crash();
  }

  /** The process dies (SIGKILL, OOM): no goodbye; its kernel closes its sockets. */
  crash(): void {
    if (!this.process) return;
    this.process.dead = true;
    this.world.net.crash(this.address, this.process);
    this.process = undefined;
    this.node = undefined;
    this.autocluster = undefined;
  }

  /** Runs `fn` as this process's own work (an operator's ctl request): it waits while frozen. */
  call<T>(fn: (node: ClusterNode) => Promise<T>): Promise<T> {
    const p = this.process;
    const node = this.node;
    if (!p || !node) return Promise.reject(new Error(`${this.name} is not running`));
    return new Promise((resolve, reject) => this.world.sched.after(0, () => fn(node).then(resolve, reject), p));
  }
}

/**
 * A cluster of simulated machines in one process: the real agent code (cluster, links, prober,
 * gossip, sync, autocluster with static seeds) on virtual time, an in-memory network and disks.
 */
export class World {
  readonly sched = new Scheduler();
  readonly random: Random;
  readonly net: SimNetwork;
  readonly nodes: SimNode[] = [];
  readonly tuning: Tuning;
  readonly lines: LogLine[] = [];
  readonly errors: string[] = [];

  constructor(readonly o: WorldOptions) {
    this.random = seededRandom(o.seed);
    this.tuning = o.tuning ?? DEFAULT_TUNING;
    // A LAN: 0.1-1 ms one way, fixed per pair of hosts (the seed picks it).
    const delays = new Map<string, number>();
    this.net = new SimNetwork(this.sched, (a, b) => {
      const k = a < b ? `${a}|${b}` : `${b}|${a}`;
      let d = delays.get(k);
      if (d === undefined) delays.set(k, (d = 0.1 + Math.floor(this.random.fraction() * 9) / 10));
      return d;
    }, () => (this.random.fraction() < 0.2 ? this.random.fraction() : 0));
    const width = String(o.nodes).length;
    const names: string[] = [];
    for (let i = 0; i < o.nodes; i++) names.push(`${o.namePrefix ?? 'm'}${String(i + 1).padStart(width, '0')}@10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`);
    const seeds = names.slice(0, o.seeds ?? 3);
    for (let i = 0; i < o.nodes; i++) {
      const name = names[i];
      const cfg = loadConfig({
        env: {
          MUSTER_NODE__NAME: name,
          MUSTER_NODE__COOKIE: 'sim-cookie-0123456789abcdef',
          MUSTER_NODE__DATA_DIR: `/sim/${name}`,
          MUSTER_NODE__ROLE: i >= o.nodes - (o.replicants ?? 0) ? 'replicant' : 'core',
          MUSTER_CLUSTER__DISCOVERY_STRATEGY: 'static',
          MUSTER_CLUSTER__STATIC__SEEDS: JSON.stringify(seeds),
          ...Object.fromEntries(Object.entries(o.cluster ?? {}).map(([k, v]) => [`MUSTER_CLUSTER__${k.toUpperCase().replace(/\./g, '__')}`, typeof v === 'string' ? v : JSON.stringify(v)])),
        },
      });
      this.nodes.push(new SimNode(this, i, name, name.slice(name.indexOf('@') + 1), cfg));
    }
  }

  /** A logger whose lines are kept (warn and above; info too when verbose), stamped with virtual time. */
  logger(node: string): Logger {
    const sink = new Writable({
      write: (_chunk: Buffer, _enc, done) => {
        done();
      },
    });
    const level = this.o.verbose ? 'info' : 'warn';
    return pino(
      {
        level,
        base: undefined,
        timestamp: false,
        hooks: {
          logMethod: (args, _method, lvl) => {
            const [a, b] = args as unknown[];
            const obj = (typeof a === 'object' && a !== null ? a : {}) as Record<string, unknown>;
            const msg = typeof a === 'string' ? a : String(b ?? '');
            const line: LogLine = { at: this.sched.now, node, level: lvl, msg, peer: obj.peer as string | undefined, by: obj.by as string | undefined };
            this.lines.push(line);
            if (this.o.verbose) process.stderr.write(`${((this.sched.now - this.sched.start) / 1000).toFixed(3)}s ${node} ${msg}\n`);
            if (lvl >= 50 && !/ENOSPC/.test(msg)) this.errors.push(`${node}: ${msg}`);
          },
        },
      },
      sink,
    );
  }

  get running(): SimNode[] {
    return this.nodes.filter((n) => n.running);
  }

  /** Runs virtual time forward by `ms`. */
  run(ms: number, stop?: () => boolean): Promise<void> {
    return this.sched.runUntil(this.sched.now + ms, stop);
  }

  /** Runs until `cond` holds (checked every `stepMs`) or `ms` pass; returns the time it took, or undefined. */
  async runUntil(cond: () => boolean, ms: number, stepMs = 50): Promise<number | undefined> {
    const start = this.sched.now;
    while (this.sched.now - start < ms) {
      if (cond()) return this.sched.now - start;
      await this.run(stepMs);
    }
    return cond() ? this.sched.now - start : undefined;
  }

  /** One cluster: every running node lists exactly the running nodes as running, and no other member. */
  converged(): boolean {
    const running = this.running;
    const want = running.map((n) => n.name).sort().join();
    let id: string | undefined;
    for (const n of running) {
      const s = n.node!.status();
      if (id === undefined) id = s.cluster_id;
      if (s.cluster_id !== id || s.running_nodes.join() !== want || s.stopped_nodes.length) return false;
    }
    return true;
  }
}
