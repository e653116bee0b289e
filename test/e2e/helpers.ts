import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App } from '../../stacks/lib/cdktf';
import { MusterDockerStack, type MusterDockerStackProps } from '../../stacks/stacks/docker-stack';
import { planSummary, StackApplier, type Change } from './applier';
import { STANDIN } from './standin-images';

export const COOKIE = 'e2e-cookie';
export const LIMIT_MS = 60_000;
/** The stacks' image variables pointed at the local stand-ins. */
export const VARS = { cookie: COOKIE, node_base_image: STANDIN.node, dns_image: STANDIN.dns, etcd_image: STANDIN.etcd };

export function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export function ctl(container: string, ...args: string[]): { code: number; out: string } {
  try {
    return { code: 0, out: docker('exec', container, 'muster', 'ctl', ...args) };
  } catch (e) {
    const err = e as { status?: number; stdout?: string; stderr?: string };
    return { code: err.status ?? -1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

export function status(container: string): { running_nodes: string[]; stopped_nodes: string[] } | undefined {
  const r = ctl(container, 'cluster', 'status', '--json');
  return r.code === 0 ? (JSON.parse(r.out) as { running_nodes: string[]; stopped_nodes: string[] }) : undefined;
}

/** Polls `docker exec <c> muster ctl cluster status --json` on every container until all agree. */
export async function converge(containers: string[], running: string[], stopped: string[] = [], limitMs = LIMIT_MS): Promise<number> {
  const started = Date.now();
  let seen = '';
  while (Date.now() - started < limitMs) {
    const all = containers.map(status);
    seen = all.map((s, i) => `${containers[i]}: ${JSON.stringify(s)}`).join('\n');
    if (all.every((s) => s && JSON.stringify(s.running_nodes) === JSON.stringify([...running].sort()) && JSON.stringify(s.stopped_nodes) === JSON.stringify([...stopped].sort()))) {
      return Date.now() - started;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`no convergence within ${limitMs}ms to running=${running} stopped=${stopped}; last seen:\n${seen}`);
}

/** Synthesizes one Docker stack into a directory of its own (each variant of a stack its own dir). */
export function synthStack(id: string, props: MusterDockerStackProps): string {
  const app = new App({ outdir: mkdtempSync(path.join(tmpdir(), `muster-e2e-${id}-`)) });
  new MusterDockerStack(app, id, props);
  app.synth();
  return path.join(app.outdir, 'stacks', id);
}

/** The node containers of a cluster, by name prefix, and their node names (label). */
export function nodesOf(prefix: string): { containers: string[]; names: string[] } {
  const containers = docker('ps', '-a', '--filter', `name=^${prefix}-`, '--filter', 'label=muster.node-name', '--format', '{{.Names}}').split('\n').filter(Boolean).sort();
  return { containers, names: containers.map((c) => docker('inspect', '--format', '{{index .Config.Labels "muster.node-name"}}', c)) };
}

export const containerId = (name: string) => docker('inspect', '--format', '{{.Id}}', name);

/** Plans and fails with the plan's changes when it is not empty: every stack must plan empty after apply. */
export async function assertPlansEmpty(applier: StackApplier): Promise<void> {
  const changes = await applier.plan();
  if (changes.length) throw new Error(`${planSummary(changes)}\n${describe(changes)}`);
}

export function describe(changes: Change[]): string {
  return changes.map((c) => `  ${c.action} ${c.address}${c.reasons.length ? `: ${c.reasons.join('; ')}` : ''}`).join('\n');
}

/**
 * How the node's healthcheck is answered: which script the image linked as muster-health, and how
 * many `/status/ready` requests the agent's HTTP listener answered 200 (its own metrics, read inside
 * the container), so a healthcheck that fell back to `muster ctl` cannot pass for the HTTP one.
 */
export function healthCheckPath(container: string): { script: string; readyAnswered: number } {
  // With the image's own node: the stand-ins carry only the tools the official images' scripts use.
  const script = docker('exec', container, 'node', '-e', 'process.stdout.write(require("fs").readlinkSync("/usr/local/bin/muster-health"))');
  const read = 'const [h,p]=require("fs").readFileSync("/var/lib/muster/http-listener","utf8").split(" ");fetch(`http://${h.includes(":")?`[${h}]`:h}:${p}/metrics`).then(r=>r.text()).then(t=>process.stdout.write(t))';
  const metrics = docker('exec', container, 'node', '-e', read);
  const line = metrics.split('\n').find((l) => l.startsWith('muster_http_requests_total{path="/status/ready",code="200"} '));
  return { script, readyAnswered: line ? Number(line.split(' ')[1]) : 0 };
}
