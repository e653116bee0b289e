import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { callNode } from '../../node-agent/src/ctl/client';
import type { Status } from '../../node-agent/src/membership/status';
import type { Op } from '../../node-agent/src/transport/messages';

/** The built agent, run as an executable (its shebang says how); `npm test` builds it first. */
export const MUSTER = path.resolve(__dirname, '../../dist/muster.js');

export interface CtlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `muster <args>` to completion. */
export function muster(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<CtlResult> {
  return new Promise((resolve) => {
    execFile(MUSTER, args, { env: { PATH: process.env.PATH ?? '', ...env }, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export interface LogLine {
  level: string;
  node: string;
  msg: string;
  [k: string]: unknown;
}

/** One agent process on a loopback address, with its JSON log collected. */
export class Agent {
  proc?: ChildProcess;
  lines: LogLine[] = [];
  raw = '';
  /** Where this run's lines start in `lines`, and whether its process and pipes are all closed. */
  private runFrom = 0;
  private closed = false;

  /** `netns`: run the agent (and its ctl) inside this network namespace; `agentArgs`: after `muster agent` (`--tuning fast`). */
  constructor(readonly name: string, readonly env: Record<string, string>, readonly dataDir: string, readonly netns?: string, readonly agentArgs: string[] = []) {}

  private command(args: string[]): [string, string[]] {
    // The bundle runs itself, as in the node image: its shebang holds node's flags.
    return this.netns ? ['ip', ['netns', 'exec', this.netns, MUSTER, ...args]] : [MUSTER, args];
  }

  get host(): string {
    return this.name.slice(this.name.indexOf('@') + 1);
  }

  /** Callbacks told of each log line as it is parsed (see `listening`). */
  private readonly lineListeners = new Set<(l: LogLine) => void>();

  /**
   * Starts the process and waits until it listens. `listenTimeoutMs`: many agents started at once
   * on 2 cores share the CPU, so the last one listens after about N x 0.15 s.
   */
  async start(extraEnv: Record<string, string> = {}, listenTimeoutMs = 15_000): Promise<void> {
    this.launch(extraEnv);
    await this.listening(listenTimeoutMs);
  }

  /** Starts the process; `listening` tells when it listens. */
  launch(extraEnv: Record<string, string> = {}): void {
    const [cmd, args] = this.command(['agent', ...this.agentArgs]);
    const proc = spawn(cmd, args, {
      env: { PATH: process.env.PATH ?? '', MUSTER_NODE__NAME: this.name, MUSTER_NODE__DATA_DIR: this.dataDir, ...this.env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    this.runFrom = this.lines.length;
    this.closed = false;
    proc.once('close', () => (this.closed = true));
    // One JSON line each; a line that is not JSON (a crash's stack) is kept as raw text.
    proc.stdout!.on('data', (d: Buffer) => (this.raw += d.toString()));
    createInterface({ input: proc.stdout!, crlfDelay: Infinity }).on('line', (text) => {
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        line = { level: 'raw', node: this.name, msg: text };
      }
      this.lines.push(line);
      for (const l of this.lineListeners) l(line);
    });
    // A missing build (ENOENT) is said in the output; `listening` fails at the process's close.
    proc.on('error', (e) => (this.raw += `\n[${this.name}: cannot start ${MUSTER}: ${e.message}]`));
    proc.stderr!.on('data', (d: Buffer) => (this.raw += d.toString()));
  }

  /**
   * The agent's "listening on" line, as soon as it is read (not polled: the bench counts from it);
   * fails with the agent's output if it does not come within `timeoutMs`.
   */
  listening(timeoutMs = 15_000): Promise<LogLine> {
    // This run's line: an agent started again after a stop has its earlier run's lines too.
    const from = this.runFrom;
    const isListening = (l: LogLine) => l.msg.startsWith('listening on');
    const heard = () => this.lines.slice(from).find(isListening);
    const seen = heard();
    if (seen) return Promise.resolve(seen);
    const proc = this.proc;
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.lineListeners.delete(onLine);
        proc?.off('close', onClose);
      };
      const onLine = (l: LogLine) => {
        if (!isListening(l)) return;
        done();
        resolve(l);
      };
      // An agent that exited (or never started: a missing build) will not listen: say so now, not
      // at the timeout. 'close' comes once its output is all read (it may still hold the line).
      const onClose = () =>
        setImmediate(() => {
          const line = heard();
          done();
          if (line) resolve(line);
          else reject(new Error(`${this.name} exited before it listened (code ${proc?.exitCode}, signal ${proc?.signalCode})\n${this.raw}`));
        });
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs}ms waiting for ${this.name} to listen\n${this.raw}`));
      }, timeoutMs);
      this.lineListeners.add(onLine);
      if (!proc || this.closed) return onClose();
      proc.once('close', onClose);
    });
  }

  get running(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Sends a signal to the process we started (by its PID) and waits for it to exit. */
  async signal(sig: NodeJS.Signals): Promise<number | null> {
    const proc = this.proc;
    if (!proc || !this.running) return proc?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    proc.kill(sig);
    return exited;
  }

  ctl(args: string[], extraEnv: Record<string, string> = {}): Promise<CtlResult> {
    const env = { MUSTER_NODE__NAME: this.name, ...this.env, ...extraEnv };
    if (!this.netns) return muster(['ctl', ...args], env);
    const [cmd, full] = this.command(['ctl', ...args]);
    return new Promise((resolve) => {
      execFile(cmd, full, { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
      });
    });
  }

  /** `muster ctl cluster status --json`, as a user runs it. */
  async status(): Promise<{ running_nodes: string[]; stopped_nodes: string[] }> {
    const r = await this.ctl(['cluster', 'status', '--json']);
    if (r.code !== 0) throw new Error(`status on ${this.name} failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as { running_nodes: string[]; stopped_nodes: string[] };
  }

  /** The same status through the ctl protocol in-process: for polling many nodes quickly. */
  async statusDirect(): Promise<Status> {
    return (await this.ctlDirect('status', {})) as Status;
  }

  /** A ctl operation through the ctl protocol in-process, without the cost of a ctl process. */
  ctlDirect(op: Op, body: unknown): Promise<unknown> {
    return callNode(
      {
        node: this.name,
        cookie: this.env.MUSTER_NODE__COOKIE ?? '',
        port: Number(this.env.MUSTER_CLUSTER__PORT ?? 4370),
        family: 4,
        dnsServers: this.env.MUSTER_CLUSTER__DNS__SERVERS ? (JSON.parse(this.env.MUSTER_CLUSTER__DNS__SERVERS) as string[]) : undefined,
      },
      op,
      body,
      5000,
    );
  }

  /**
   * The first line logged so far that matches. The agent writes its log without blocking, so a
   * line arrives a moment after what it tells of (a ctl answer, a closed socket): wait for it with
   * `waitFor(() => agent.logged(re), ...)`.
   */
  logged(re: RegExp): LogLine | undefined {
    return this.lines.find((l) => re.test(l.msg));
  }
}

/** A set of agents sharing a cookie and a temporary directory, all stopped and removed by `close`. */
export class Fleet {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'muster-test-'));
  readonly agents: Agent[] = [];

  /** `tuning`: the agents' timing profile (`fast`: tuning.ts's FAST_TUNING, shorter waits for tests on one machine). */
  constructor(readonly env: Record<string, string> = { MUSTER_NODE__COOKIE: 'test-cookie' }, readonly tuning: 'default' | 'fast' = 'default') {}

  agent(name: string, env: Record<string, string> = {}, netns?: string): Agent {
    const a = new Agent(name, { ...this.env, ...env }, path.join(this.dir, name), netns, this.tuning === 'fast' ? ['--tuning', 'fast'] : []);
    this.agents.push(a);
    return a;
  }

  async startAll(names: string[], env: Record<string, string> = {}): Promise<Agent[]> {
    const list = names.map((n) => this.agent(n, env));
    await Promise.all(list.map((a) => a.start({}, 15_000 + names.length * 500)));
    return list;
  }

  writeFile(name: string, text: string): string {
    const p = path.join(this.dir, name);
    writeFileSync(p, text);
    return p;
  }

  async close(): Promise<void> {
    await Promise.all(this.agents.map((a) => a.signal('SIGKILL')));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The agent environment for static discovery with these seeds. */
export function staticSeedsEnv(seeds: readonly string[]): Record<string, string> {
  return { MUSTER_CLUSTER__DISCOVERY_STRATEGY: 'static', MUSTER_CLUSTER__STATIC__SEEDS: `[${seeds.join(',')}]` };
}

/** Polls until `pred` holds; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(pred: () => T | Promise<T>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await pred();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** How much of an agent's log a failed wait shows. */
const LOG_TAIL = 40;

/** Waits until every agent reports exactly `running` as running and `stopped` as stopped; on a timeout, says what each agent still off saw and logged. */
export async function waitForStatus(agents: Agent[], running: string[], stopped: string[] = [], timeoutMs = 20_000, direct = false): Promise<void> {
  const want = JSON.stringify({ running: [...running].sort(), stopped: [...stopped].sort() });
  let seen = '';
  let off: Agent[] = [];
  await waitFor(
    async () => {
      const all = await Promise.all(agents.map((a) => (direct ? a.statusDirect() : a.status())));
      seen = all.map((s, i) => `${agents[i].name}: ${JSON.stringify(s)}`).join('\n');
      off = agents.filter((_, i) => JSON.stringify({ running: all[i].running_nodes, stopped: all[i].stopped_nodes }) !== want);
      return off.length === 0;
    },
    timeoutMs,
    `status ${want} on ${agents.map((a) => a.name).join(', ')}`,
  ).catch((e: Error) => {
    // The log of each agent still off: what it did is what a failure in CI has to be read from.
    const logs = off.map((a) => `log of ${a.name} (last ${LOG_TAIL} lines):\n${a.lines.slice(-LOG_TAIL).map((l) => JSON.stringify(l)).join('\n')}`).join('\n');
    throw new Error(`${e.message}\nlast seen:\n${seen}\n${logs}`);
  });
}
