import { seededRandom, type Random } from '../../node-agent/src/runtime/random';

/**
 * A run's faults and writes, drawn from its seed alone (a stream of its own, apart from the agents'
 * randomness), so a failing seed replays the same faults even after the agent's code changed.
 */
export type Fault =
  | { kind: 'partition'; at: number; ms: number; groups: number[][] }
  | { kind: 'flap'; at: number; ms: number; a: number; b: number; periodMs: number }
  | { kind: 'slow-link'; at: number; ms: number; a: number; b: number; delayMs: number }
  | { kind: 'reset'; at: number; node: number }
  | { kind: 'freeze'; at: number; ms: number; node: number }
  /** A node that starts late, joins, and is frozen `afterMs` later: before or while its links come up. */
  | { kind: 'freeze-on-join'; at: number; ms: number; node: number; afterMs: number }
  | { kind: 'crash'; at: number; ms: number; node: number }
  | { kind: 'slow-disk'; at: number; ms: number; node: number; writeMs: number }
  /** The node loses the gossip it is sent, its links staying up (network.ts `losesGossip`). */
  | { kind: 'lost-gossip'; at: number; ms: number; node: number }
  | { kind: 'failing-disk'; at: number; ms: number; node: number };

export const FAULT_KINDS = ['partition', 'flap', 'slow-link', 'reset', 'freeze', 'freeze-on-join', 'crash', 'slow-disk', 'failing-disk', 'lost-gossip'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Scenario {
  seed: number;
  nodes: number;
  /** Each node's start, ms after the run's start (containers do not start together); -1: started by a fault. */
  startAt: number[];
  /** Faults, in ms after the cluster formed; all of them end by `faultPhaseMs`. */
  faults: Fault[];
  faultPhaseMs: number;
  /** Writes during the fault phase: [ms after formation, node index]. */
  writes: Array<[number, number]>;
}

export interface ScenarioOptions {
  seed: number;
  nodes: number;
  /** Only these kinds of fault (default: all). */
  kinds?: readonly FaultKind[];
  faults?: number;
  faultPhaseMs?: number;
  writesPerSecond?: number;
  startSpreadMs?: number;
}

const int = (r: Random, lo: number, hi: number) => lo + Math.floor(r.fraction() * (hi - lo + 1));
const pick = <T>(r: Random, xs: readonly T[]): T => xs[Math.floor(r.fraction() * xs.length)];

export function makeScenario(o: ScenarioOptions): Scenario {
  const r = seededRandom((o.seed ^ 0x5bd1e995) >>> 0);
  const n = o.nodes;
  const phase = o.faultPhaseMs ?? 20_000;
  const kinds = o.kinds ?? FAULT_KINDS;
  const startSpread = o.startSpreadMs ?? 2000;
  const startAt = Array.from({ length: n }, () => int(r, 0, startSpread));
  const faults: Fault[] = [];
  const count = o.faults ?? int(r, 1, 4);
  for (let i = 0; i < count && n > 1; i++) {
    const kind = pick(r, kinds);
    // Every fault starts in the first half of the phase and ends by its end.
    const at = int(r, 0, Math.floor(phase / 2));
    const ms = int(r, 500, phase - at);
    const node = int(r, 0, n - 1);
    let other = int(r, 0, n - 2);
    if (other >= node) other++;
    switch (kind) {
      case 'partition': {
        const parts = n > 3 && r.fraction() < 0.3 ? 3 : 2;
        const groups: number[][] = Array.from({ length: parts }, () => []);
        const order = Array.from({ length: n }, (_, j) => j);
        for (let j = n - 1; j > 0; j--) {
          const k = int(r, 0, j);
          [order[j], order[k]] = [order[k], order[j]];
        }
        order.forEach((j, k) => groups[k < parts ? k : int(r, 0, parts - 1)].push(j));
        faults.push({ kind, at, ms, groups });
        break;
      }
      case 'flap':
        faults.push({ kind, at, ms, a: node, b: other, periodMs: int(r, 200, 3000) });
        break;
      case 'slow-link':
        faults.push({ kind, at, ms, a: node, b: other, delayMs: int(r, 20, 400) });
        break;
      case 'reset':
        faults.push({ kind, at, node });
        break;
      case 'freeze':
        faults.push({ kind, at, ms, node });
        break;
      case 'freeze-on-join':
        // One late starter per run, and never the first seed (it must find a cluster to join).
        if (startAt[node] < 0 || node === 0) break;
        startAt[node] = -1;
        faults.push({ kind, at, ms: Math.max(ms, 8000), node, afterMs: int(r, 0, 40) });
        break;
      case 'crash':
        faults.push({ kind, at, ms, node });
        break;
      case 'slow-disk':
        faults.push({ kind, at, ms, node, writeMs: int(r, 100, 2000) });
        break;
      case 'failing-disk':
      case 'lost-gossip':
        faults.push({ kind, at, ms, node });
        break;
    }
  }
  const writes: Array<[number, number]> = [];
  const wps = o.writesPerSecond ?? 5;
  const total = Math.floor((phase / 1000) * wps);
  for (let i = 0; i < total; i++) writes.push([int(r, 0, phase), int(r, 0, n - 1)]);
  writes.sort((a, b) => a[0] - b[0]);
  return { seed: o.seed, nodes: n, startAt, faults, faultPhaseMs: phase, writes };
}

export function describeFault(f: Fault, name: (i: number) => string): string {
  const span = 'ms' in f ? ` for ${f.ms} ms` : '';
  const t = `at +${f.at} ms`;
  switch (f.kind) {
    case 'partition':
      return `${t}: partition ${f.groups.map((g) => `{${g.map(name).join(',')}}`).join(' | ')}${span}`;
    case 'flap':
      return `${t}: link ${name(f.a)}-${name(f.b)} flapping every ${f.periodMs} ms${span}`;
    case 'slow-link':
      return `${t}: link ${name(f.a)}-${name(f.b)} slowed to ${f.delayMs} ms one way${span}`;
    case 'reset':
      return `${t}: every connection of ${name(f.node)} reset`;
    case 'freeze':
      return `${t}: ${name(f.node)} frozen (SIGSTOP)${span}`;
    case 'freeze-on-join':
      return `${t}: ${name(f.node)} started, frozen ${f.afterMs} ms later${span}`;
    case 'crash':
      return `${t}: ${name(f.node)} crashed, restarted with its disk${span.replace('for', 'after')}`;
    case 'slow-disk':
      return `${t}: ${name(f.node)}'s disk takes ${f.writeMs} ms a save${span}`;
    case 'failing-disk':
      return `${t}: ${name(f.node)}'s disk fails every save (ENOSPC)${span}`;
    case 'lost-gossip':
      return `${t}: ${name(f.node)} loses the gossip it is sent, its links up${span}`;
  }
}
