import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { runAgent } from './agent';
import { callNode, type CtlTarget } from './ctl/client';
import { ConfigError, loadConfig } from './config/load';
import { familyOf, tlsSettingsOf } from './config/schema';
import { loadTls, TlsConfigError } from './transport/tls';
import { silentLogger } from './log';
import { StateFileError } from './store/state-file';
import { PeerError } from './transport/connection';
import type { Status } from './membership/status';
import { nodeNameProblem } from './config/node-name';
import { formatDuration } from './config/duration';
import { TUNING_PROFILES, type TuningProfile } from './tuning';

/**
 * Exit codes: 0 done, 1 the operation failed, 2 bad usage or configuration, 3 done here but not
 * yet acknowledged by every running member (a write, leave or force-leave that spreads later).
 */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_NOT_EVERYWHERE = 3;

/** A change spread to the members: who acknowledged it and which running members did not, in time. */
interface Spread {
  acked: string[];
  failed: string[];
}

/**
 * Says exactly how far a change got. Every running member has it: `done` on stdout, exit 0.
 * Otherwise the members still missing it on stderr and exit 3: the change is kept (here, and on
 * those that acknowledged) and reaches the others when their links sync again.
 */
function reportSpread(r: Spread, done: string, what: string): void {
  if (!r.failed.length) {
    console.log(done);
    return;
  }
  const holders = r.acked.length ? `this node and ${r.acked.join(', ')}` : 'this node only';
  process.stderr.write(`muster: ${what} is held by ${holders}; not acknowledged in time by ${r.failed.join(', ')} (running members): it reaches them when their links sync again\n`);
  process.exitCode = EXIT_NOT_EVERYWHERE;
}

class UsageError extends Error {}

/** Set by the bundler (node-agent/build.mjs); absent when run from source. */
declare const MUSTER_VERSION: string | undefined;

interface GlobalOpts {
  config?: string;
  node?: string;
  cookie?: string;
}

function configFile(opts: GlobalOpts): string | undefined {
  return opts.config ?? process.env.MUSTER_CONFIG_FILE;
}

/** The ctl reads the same file and MUSTER_* variables as the agent; --node/--cookie override them. */
function ctlTarget(opts: GlobalOpts): CtlTarget {
  const env = { ...process.env };
  if (opts.node) env.MUSTER_NODE__NAME = JSON.stringify(opts.node);
  if (opts.cookie) env.MUSTER_NODE__COOKIE = JSON.stringify(opts.cookie);
  const cfg = loadConfig({ file: configFile(opts), env });
  const tlsSettings = tlsSettingsOf(cfg);
  return {
    node: cfg.node.name,
    cookie: cfg.node.cookie,
    port: cfg.cluster.port,
    family: familyOf(cfg),
    dnsServers: cfg.cluster.dns.servers,
    tls: tlsSettings ? loadTls(tlsSettings, silentLogger()) : undefined,
  };
}

/** The data's limits, as the node's request schema has them (transport/messages.ts). */
const MAX_KEY = 1024;
const MAX_VALUE = 1024 * 1024;

function keyArg(key: string): string {
  if (key.length < 1 || key.length > MAX_KEY) throw new UsageError(`<key>: must be 1-${MAX_KEY} characters, not ${key.length}`);
  return key;
}

/** The value from the argument, standard input ('-') or a file: exactly one of them. */
async function valueArg(value: string | undefined, file: string | undefined): Promise<string> {
  if ((value === undefined) === (file === undefined)) throw new UsageError('give the value as an argument, as - (standard input) or with --file, exactly one of them');
  let v: string;
  if (file !== undefined) {
    try {
      v = readFileSync(file, 'utf8');
    } catch (e) {
      throw new UsageError(`--file: ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
  } else if (value === '-') {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    v = Buffer.concat(chunks).toString('utf8');
  } else v = value!;
  if (v.length > MAX_VALUE) throw new UsageError(`<value>: ${v.length} characters; at most ${MAX_VALUE} (1 MiB)`);
  return v;
}

function nodeArg(node: string): string {
  const problem = nodeNameProblem(node);
  if (problem) throw new UsageError(`<node>: ${problem}`);
  return node;
}

function erlangList(names: string[]): string {
  return `[${names.map((n) => `'${n}'`).join(',')}]`;
}

function ago(iso: string): string {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 120 ? `${s}s` : `${Math.round(s / 60)}m`;
}

export function formatStatus(s: Status): string {
  const lines = [`Cluster status: #{running_nodes => ${erlangList(s.running_nodes)},\n                  stopped_nodes => ${erlangList(s.stopped_nodes)}}`];
  const replicants = Object.keys(s.roles ?? {}).filter((m) => s.roles[m] === 'replicant');
  if (replicants.length || s.role === 'replicant') lines.push(`Roles: this node is a ${s.role}; replicants ${erlangList(replicants)}, the others are cores`);
  const d = s.discovery;
  if (d) {
    const run = d.last_run ? `last run ${ago(d.last_run)} ago, found ${d.found.length} node(s)` : 'not run yet';
    lines.push(`Discovery: ${d.strategy}, ${run}${d.found.length ? ` ${erlangList(d.found)}` : ''}${d.last_error ? `; last error: ${d.last_error}` : ''}${d.paused ? `; ${d.paused}` : ''}`);
  }
  for (const p of s.partitions) {
    lines.push(`Partition seen: ${p.node} came back at ${p.seen_at} without restarting; ${p.healed ? 'healed (autoheal)' : 'kept apart (autoheal = false)'}`);
  }
  const t = s.timings;
  const hold = s.role === 'replicant' ? ' (decided by the cores)' : t.autoclean_allowed ? '' : ' (on hold: this side is not the majority)';
  const clean = t.autoclean_after_ms ? `removed by autoclean after ${formatDuration(t.autoclean_after_ms)} stopped${hold}` : 'never removed (autoclean off)';
  lines.push(`Timings: a dead member shows stopped within ${formatDuration(t.stopped_after_ms)} (a crashed process at once), ${clean}; autoheal ${t.autoheal ? 'on' : 'off'}`);
  return lines.join('\n');
}

function statusJson(s: Status): string {
  return JSON.stringify({
    running_nodes: s.running_nodes,
    stopped_nodes: s.stopped_nodes,
    node: s.node,
    role: s.role,
    roles: s.roles,
    cluster_name: s.cluster_name,
    discovery_strategy: s.discovery_strategy,
    discovery: s.discovery,
    partitions: s.partitions,
    timings: s.timings,
  });
}

function buildProgram(): Command {
  const program = new Command('muster')
    .description('Muster node agent: discovers peers, forms the cluster and keeps its membership right')
    .version(typeof MUSTER_VERSION === 'string' ? MUSTER_VERSION : 'dev', '-V, --version')
    .exitOverride()
    .showHelpAfterError(false)
    .configureOutput({ outputError: (str, write) => write(`muster: ${str.replace(/^error: /, '')}`) });

  program
    .command('agent')
    .description('run the node agent in the foreground')
    .option('-c, --config <file>', 'HOCON config file (default: $MUSTER_CONFIG_FILE; MUSTER_* variables override it)')
    .addOption(new Option('--tuning <profile>', "the agent's own timings: default, or fast for tests on one machine (shorter waits; not for production)").choices(Object.keys(TUNING_PROFILES)).default('default'))
    .action(async (opts: GlobalOpts & { tuning: TuningProfile }) => {
      const cfg = loadConfig({ file: configFile(opts) });
      await runAgent(cfg, TUNING_PROFILES[opts.tuning]);
    });

  const ctl = program
    .command('ctl')
    .description('control the local node (authenticates with the cookie, like a peer)')
    .option('-c, --config <file>', 'HOCON config file (default: $MUSTER_CONFIG_FILE)')
    .option('--node <name>', 'node to talk to (default: node.name from the config)')
    .option('--cookie <cookie>', 'cookie (default: node.cookie from the config)');
  const g = () => ctl.opts<GlobalOpts>();
  const call = (op: Parameters<typeof callNode>[1], body: unknown) => callNode(ctlTarget(g()), op, body);

  ctl
    .command('ping')
    .description('exit 0 when the node answers (liveness)')
    .action(async () => {
      await call('ping', {});
      console.log('pong');
    });

  const cluster = ctl.command('cluster').description('cluster membership');
  cluster
    .command('status')
    .description('running and stopped members')
    .option('--json', 'print {"running_nodes":[...],"stopped_nodes":[...]}')
    .action(async (o: { json?: boolean }) => {
      const s = (await call('status', {})) as Status;
      console.log(o.json ? statusJson(s) : formatStatus(s));
    });
  cluster
    .command('join <node>')
    .description("request to join the cluster of <node> (run on the joining node; it drops its local data)")
    .action(async (node: string) => {
      const s = (await call('cluster-join', { node: nodeArg(node) })) as Status;
      console.log(`Join the cluster successfully.\n${formatStatus(s)}`);
    });
  cluster
    .command('leave')
    .description('this node leaves its cluster and becomes standalone')
    .action(async () => {
      const r = (await call('cluster-leave', {})) as Spread;
      if (!r.acked.length) {
        process.stderr.write(`muster: left the cluster and now standalone, but no member acknowledged the leave (${r.failed.join(', ') || 'none reachable'}): they still list this node; run "cluster force-leave" for it on the cluster\n`);
        process.exitCode = EXIT_NOT_EVERYWHERE;
        return;
      }
      reportSpread(r, `Left the cluster; acknowledged by ${r.acked.join(', ')}.`, 'the leave (this node is standalone now)');
    });
  cluster
    .command('force-leave <node>')
    .description('remove <node> from every member (usually a dead one)')
    .action(async (node: string) => {
      const r = (await call('cluster-force-leave', { node: nodeArg(node) })) as Spread;
      reportSpread(r, `Removed ${node} from the cluster; acknowledged by ${r.acked.length ? r.acked.join(', ') : 'no other member'}.`, `the removal of ${node}`);
    });
  cluster
    .command('ready')
    .description('exit 0 when this node is a running member of its cluster (readiness)')
    .action(async () => {
      const r = (await call('ready', {})) as { ready: boolean; reason: string };
      if (!r.ready) throw new PeerError('not_ready', `not ready: ${r.reason}`);
      console.log(`ready: ${r.reason}`);
    });

  const data = ctl.command('data').description('the cluster\'s replicated key-value data');
  data
    .command('put <key> [value]')
    .description(`store VALUE under KEY on every member; VALUE '-' reads standard input (keys 1-${MAX_KEY} characters, values up to ${MAX_VALUE} characters)`)
    .option('-f, --file <path>', 'read the value from a file')
    .action(async (key: string, value: string | undefined, o: { file?: string }) => {
      const v = await valueArg(value, o.file);
      reportSpread((await call('data-put', { key: keyArg(key), value: v })) as Spread, 'OK', `the write of '${key}'`);
    });
  data.command('get <key>').action(async (key: string) => {
    const r = (await call('data-get', { key: keyArg(key) })) as { value: string };
    console.log(r.value);
  });
  data.command('del <key>').action(async (key: string) => {
    reportSpread((await call('data-del', { key: keyArg(key) })) as Spread, 'OK', `the delete of '${key}'`);
  });
  data
    .command('list')
    .option('--json', 'print a JSON object')
    .action(async (o: { json?: boolean }) => {
      const r = (await call('data-list', {})) as Record<string, string>;
      if (o.json) console.log(JSON.stringify(r));
      else for (const [k, v] of Object.entries(r)) console.log(`${k}=${v}`);
    });

  for (const c of [program, ctl, cluster, data]) {
    c.exitOverride();
    c.configureOutput({ outputError: (str, write) => write(`muster: ${str.replace(/^error: /, '')}`) });
  }
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    if (argv.length <= 2) {
      program.outputHelp();
      process.exitCode = EXIT_USAGE;
      return;
    }
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.help' ? 0 : EXIT_USAGE;
    } else if (e instanceof ConfigError) {
      for (const p of e.problems) process.stderr.write(`muster: config: ${p}\n`);
      process.exitCode = EXIT_USAGE;
    } else if (e instanceof UsageError) {
      process.stderr.write(`muster: ${e.message}\n`);
      process.exitCode = EXIT_USAGE;
    } else if (e instanceof StateFileError || e instanceof TlsConfigError || (e instanceof PeerError && e.code === 'config')) {
      process.stderr.write(`muster: ${e.message}\n`);
      process.exitCode = EXIT_USAGE;
    } else if (e instanceof PeerError) {
      process.stderr.write(`muster: ${e.message}\n`);
      process.exitCode = EXIT_FAILED;
    } else {
      const err = e as NodeJS.ErrnoException;
      const msg = err.code === 'EADDRINUSE' || err.code === 'EADDRNOTAVAIL' ? `cannot listen: ${err.message}` : `unexpected error: ${err.message}`;
      process.stderr.write(`muster: ${msg}\n`);
      process.exitCode = EXIT_FAILED;
    }
  }
}

void main(process.argv);
