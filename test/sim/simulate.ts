import { createHash } from 'node:crypto';
import { detectionBoundMs } from '../../node-agent/src/membership/failure-policy';
import type { Tuning } from '../../node-agent/src/tuning';
import { describeFault, type Fault, type Scenario } from './scenario';
import { World, type SimNode } from './world';

/**
 * Runs a scenario on the real agent code and checks what must hold whatever the faults:
 * - formation: one cluster of every node within `formBoundMs` of the last start;
 * - after the faults end: one cluster again within `healBoundMs`;
 * - every acknowledged write (a put that resolved) on every member at the end;
 * - detection: a member frozen or crashed for longer than the detection bound shows stopped on
 *   every other member within the bound (when no other network fault is going on);
 * - no down claim without a fault: a member is logged stopped only while a fault touched it;
 * - nothing logged as an error but the disk failures the run made, no unhandled rejection.
 */
export interface Bounds {
  formBoundMs: number;
  healBoundMs: number;
  /** Added to the configured detection bound for the hops of the news (gossip). */
  detectionSlackMs: number;
}

export const DEFAULT_BOUNDS: Bounds = { formBoundMs: 10_000, healBoundMs: 20_000, detectionSlackMs: 250 };

export interface SimResult {
  scenario: Scenario;
  violations: string[];
  /** Virtual ms from the last start to one cluster; after the faults ended, to one cluster again. */
  formedMs?: number;
  healedMs?: number;
  writesAcked: number;
  /** Detection checks that ran (a freeze or crash long enough, nothing else going on) and "is stopped" lines read. */
  detectionChecks: number;
  downClaims: number;
  events: number;
  /** Hash of the run's outcome: the same seed gives the same one (replay check). */
  fingerprint: string;
  faults: string[];
}

export interface SimulateOptions {
  tuning?: Tuning;
  cluster?: Record<string, unknown>;
  bounds?: Partial<Bounds>;
  verbose?: boolean;
  seeds?: number;
  /** The last this many nodes are replicants. */
  replicants?: number;
}

export async function simulate(sc: Scenario, o: SimulateOptions = {}): Promise<SimResult> {
  const bounds = { ...DEFAULT_BOUNDS, ...o.bounds };
  const w = new World({ seed: sc.seed, nodes: sc.nodes, tuning: o.tuning, cluster: o.cluster, verbose: o.verbose, seeds: o.seeds, replicants: o.replicants });
  const violations: string[] = [];
  const unhandled = (e: unknown) => violations.push(`unhandled rejection: ${(e as Error)?.stack ?? String(e)}`);
  process.on('unhandledRejection', unhandled);
  const name = (i: number) => w.nodes[i].name.slice(0, w.nodes[i].name.indexOf('@'));
  const faults = sc.faults.map((f) => describeFault(f, name));
  try {
    const fd = w.nodes[0].cfg.cluster.failure_detector;
    const detection = detectionBoundMs(fd.probe_interval, fd.probe_timeout);
    const t0 = w.sched.now;
    sc.startAt.forEach((at, i) => at >= 0 && w.sched.at(t0 + at, () => w.nodes[i].start()));
    const lastStart = t0 + Math.max(...sc.startAt);
    await w.sched.runUntil(lastStart);
    const formedMs = await w.runUntil(() => w.converged(), bounds.formBoundMs);
    if (formedMs === undefined) {
      violations.push(`formation: not one cluster ${bounds.formBoundMs} ms after the last node started (${summary(w)})`);
      return finish();
    }

    // ---- faults and writes ----
    const f0 = w.sched.now;
    const acked = new Map<string, string>();
    let detectionChecks = 0;
    let seq = 0;
    for (const [at, i] of sc.writes) {
      w.sched.at(f0 + at, () => {
        const node = w.nodes[i];
        if (!node.running) return;
        const key = `k${++seq}`;
        const value = `v${seq}@${node.name}`;
        node.call((n) => n.data.put(key, value)).then(
          () => acked.set(key, value),
          () => undefined,
        );
      });
    }
    for (const f of sc.faults) schedule(w, f, f0);
    for (const f of sc.faults) {
      if ((f.kind === 'freeze' || f.kind === 'freeze-on-join' || f.kind === 'crash') && f.ms > detection + bounds.detectionSlackMs) {
        const stoppedAt = f.at + (f.kind === 'freeze-on-join' ? f.afterMs : 0);
        const due = f0 + stoppedAt + detection + bounds.detectionSlackMs;
        w.sched.at(due, () => {
          // Judged only where nothing else was going on in the network meanwhile.
          const others = sc.faults.filter((g) => g !== f && overlaps(g, f.at, stoppedAt + detection + bounds.detectionSlackMs) && touchesNetwork(g));
          if (others.length) return;
          const subject = w.nodes[f.node].name;
          // A node frozen before its join was answered is no member to detect.
          if (!w.running.some((n) => n.index !== f.node && n.node!.isMember(subject))) return;
          detectionChecks++;
          for (const n of w.running) {
            if (n.index === f.node || n.frozen) continue;
            if (n.node!.status().running_nodes.includes(subject)) {
              violations.push(`detection: ${n.name} still shows ${subject} running ${detection + bounds.detectionSlackMs} ms after it was ${f.kind === 'crash' ? 'crashed' : 'frozen'} (bound ${detection} ms + ${bounds.detectionSlackMs} ms)`);
            }
          }
        });
      }
    }
    await w.sched.runUntil(f0 + sc.faultPhaseMs);

    // ---- heal ----
    w.net.healAll();
    w.net.losesGossip.clear();
    for (const n of w.nodes) {
      if (n.frozen) w.sched.thaw(n.process!);
      n.disk.failing = false;
      n.disk.writeMs = 2;
      if (!n.running) n.start();
    }
    const everywhere = () => {
      for (const n of w.running) for (const [k, v] of acked) if (n.node!.data.get(k) !== v) return false;
      return true;
    };
    const healedMs = await w.runUntil(() => w.converged() && everywhere(), bounds.healBoundMs);
    if (healedMs === undefined) {
      if (!w.converged()) violations.push(`heal: not one cluster ${bounds.healBoundMs} ms after the faults ended (${summary(w)})`);
      for (const n of w.running) {
        const missing = [...acked].filter(([k, v]) => n.node!.data.get(k) !== v).map(([k]) => k);
        if (missing.length) violations.push(`writes: ${n.name} lacks ${missing.length} acknowledged write(s) ${bounds.healBoundMs} ms after the faults ended: ${missing.slice(0, 5).join(', ')}`);
      }
    }

    // ---- down claims ----
    let downClaims = 0;
    const grace = 2 * detection;
    for (const l of w.lines) {
      const m = / is stopped: /.exec(l.msg);
      if (!m || !l.peer) continue;
      downClaims++;
      if (l.at < f0) {
        violations.push(`false down claim during formation: ${l.node} logged ${l.peer} stopped at ${rel(w, l.at)} (${l.msg})`);
        continue;
      }
      const i = w.nodes.findIndex((n) => n.name === l.peer);
      const t = l.at - f0;
      // An observer that was frozen reads, once thawed, the news of the whole time it was stopped:
      // a fault during its freeze counts for what it logs right after.
      const observer = w.nodes.findIndex((n) => n.name === l.node);
      const stoppedSince = sc.faults.find((f) => (f.kind === 'freeze' || f.kind === 'freeze-on-join') && f.node === observer && f.at <= t && t <= end(f) + grace)?.at ?? t;
      const touched = sc.faults.some((f) => touches(f, i) && overlaps(f, stoppedSince - grace, t) && t <= end(f) + grace + (t - stoppedSince));
      if (!touched) violations.push(`down claim without a fault: ${l.node} logged ${l.peer} stopped at ${rel(w, l.at)} (${l.msg})`);
    }
    for (const e of w.errors) violations.push(`error logged: ${e}`);
    return finish(formedMs, healedMs, acked.size, detectionChecks, downClaims);

    function finish(formed?: number, healed?: number, writesAcked = 0, detections = 0, claims = 0): SimResult {
      const h = createHash('sha256');
      h.update(String(w.sched.ran));
      for (const n of w.running) h.update(JSON.stringify(n.node!.status().running_nodes) + JSON.stringify(n.node!.data.list()));
      return { scenario: sc, violations: dedupe(violations), formedMs: formed, healedMs: healed, writesAcked, detectionChecks: detections, downClaims: claims, events: w.sched.ran, fingerprint: h.digest('hex').slice(0, 16), faults };
    }
  } finally {
    process.off('unhandledRejection', unhandled);
  }
}

function dedupe(xs: string[]): string[] {
  return [...new Set(xs)];
}

function rel(w: World, at: number): string {
  return `${((at - w.sched.start) / 1000).toFixed(3)} s`;
}

function summary(w: World): string {
  const ids = new Map<string, string[]>();
  for (const n of w.running) {
    const s = n.node!.status();
    const k = `${s.cluster_id.slice(0, 6)} running=${s.running_nodes.length} stopped=${s.stopped_nodes.length}`;
    ids.set(k, [...(ids.get(k) ?? []), n.name.slice(0, n.name.indexOf('@'))]);
  }
  return [...ids].map(([k, v]) => `${v.length} node(s) [${v.slice(0, 4).join(',')}${v.length > 4 ? ',…' : ''}] ${k}`).join('; ');
}

const end = (f: Fault) => f.at + ('ms' in f ? f.ms : 0);
const overlaps = (f: Fault, from: number, to: number) => f.at <= to && end(f) >= from;
/** Faults that change what members hear of each other (a lost gossip loses the news of a loss too). */
const touchesNetwork = (f: Fault) => f.kind !== 'slow-disk' && f.kind !== 'failing-disk';

/** Whether a fault may rightly make members see node `i` stopped. */
function touches(f: Fault, i: number): boolean {
  switch (f.kind) {
    case 'partition':
    case 'reset':
      // A partition cuts many links; a reset closes links of a node's neighbours too.
      return true;
    case 'flap':
    case 'slow-link':
      return f.a === i || f.b === i;
    case 'freeze':
    case 'freeze-on-join':
    case 'crash':
      return f.node === i;
    case 'slow-disk':
    case 'failing-disk':
    case 'lost-gossip':
      return false;
  }
}

function schedule(w: World, f: Fault, f0: number): void {
  const at = f0 + f.at;
  const node = (i: number): SimNode => w.nodes[i];
  const addr = (i: number) => w.nodes[i].address;
  switch (f.kind) {
    case 'partition':
      w.sched.at(at, () => w.net.partition(f.groups.map((g) => g.map(addr))));
      w.sched.at(at + f.ms, () => w.net.healPartition());
      return;
    case 'flap': {
      let cut = false;
      for (let t = at; t < at + f.ms; t += f.periodMs) {
        const c = (cut = !cut);
        w.sched.at(t, () => (c ? w.net.cutLink(addr(f.a), addr(f.b)) : w.net.restoreLink(addr(f.a), addr(f.b))));
      }
      w.sched.at(at + f.ms, () => w.net.restoreLink(addr(f.a), addr(f.b)));
      return;
    }
    case 'slow-link':
      w.sched.at(at, () => w.net.slowLink(addr(f.a), addr(f.b), f.delayMs));
      w.sched.at(at + f.ms, () => w.net.slowLink(addr(f.a), addr(f.b), undefined));
      return;
    case 'reset':
      w.sched.at(at, () => void w.net.resetAll(addr(f.node)));
      return;
    case 'freeze': {
      let frozen: SimNode['process'];
      w.sched.at(at, () => {
        frozen = node(f.node).process;
        if (frozen) w.sched.freeze(frozen);
      });
      w.sched.at(at + f.ms, () => {
        if (frozen?.frozen) w.sched.thaw(frozen);
      });
      return;
    }
    case 'freeze-on-join': {
      w.sched.at(at, () => node(f.node).start());
      w.sched.at(at + f.afterMs, () => {
        const p = node(f.node).process;
        if (p) w.sched.freeze(p);
      });
      w.sched.at(at + f.ms, () => {
        const p = node(f.node).process;
        if (p?.frozen) w.sched.thaw(p);
      });
      return;
    }
    case 'crash':
      w.sched.at(at, () => node(f.node).crash());
      w.sched.at(at + f.ms, () => {
        if (!node(f.node).running) node(f.node).start();
      });
      return;
    case 'slow-disk':
      w.sched.at(at, () => (node(f.node).disk.writeMs = f.writeMs));
      w.sched.at(at + f.ms, () => (node(f.node).disk.writeMs = 2));
      return;
    case 'lost-gossip':
      w.sched.at(at, () => w.net.losesGossip.add(addr(f.node)));
      w.sched.at(at + f.ms, () => w.net.losesGossip.delete(addr(f.node)));
      return;
    case 'failing-disk':
      w.sched.at(at, () => (node(f.node).disk.failing = true));
      w.sched.at(at + f.ms, () => (node(f.node).disk.failing = false));
      return;
  }
}
