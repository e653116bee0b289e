import { parseArgs } from 'node:util';
import { FAULT_KINDS, makeScenario, type FaultKind } from './scenario';
import { simulate } from './simulate';

/**
 * `npm run sim`: seeded runs of the real membership code under faults, each checked against the
 * invariants (simulate.ts). A failing seed prints the command that replays it exactly.
 *
 *   npm run sim                          200 seeds, 3-20 nodes each (what CI runs)
 *   npm run sim -- --seed 17 --verbose   one seed again, with the agents' log lines
 *   npm run sim -- --soak                1,000 nodes, then 2,000 more seeds of 3-40 nodes
 *   npm run sim -- --nodes 8 --replicants 5   3 cores and 5 replicants (node.role)
 */
const { values: a } = parseArgs({
  options: {
    seed: { type: 'string' },
    runs: { type: 'string', default: '200' },
    from: { type: 'string', default: '1' },
    nodes: { type: 'string' },
    replicants: { type: 'string' },
    faults: { type: 'string' },
    kinds: { type: 'string' },
    'phase-ms': { type: 'string' },
    verbose: { type: 'boolean', default: false },
    soak: { type: 'boolean', default: false },
  },
});

function usage(msg: string): never {
  process.stderr.write(`muster sim: ${msg}\n`);
  process.exit(2);
}

const num = (name: string, v: string | undefined, min: number, max: number): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) usage(`--${name} must be a whole number from ${min} to ${max}, not '${v}'`);
  return n;
};

const kinds = a.kinds?.split(',').map((k) => k.trim()) as FaultKind[] | undefined;
for (const k of kinds ?? []) if (!FAULT_KINDS.includes(k)) usage(`--kinds: '${k}' is not a fault; allowed: ${FAULT_KINDS.join(', ')}`);
const fixedNodes = num('nodes', a.nodes, 1, 2000);
const faults = num('faults', a.faults, 0, 50);
const replicants = num('replicants', a.replicants, 0, 10_000);
const phaseMs = num('phase-ms', a['phase-ms'], 1000, 600_000);
const one = num('seed', a.seed, 0, 2 ** 32 - 1);
const runs = one !== undefined ? 1 : num('runs', a.runs, 1, 100_000)!;
const from = one ?? num('from', a.from, 0, 2 ** 32 - 1)!;
const maxNodes = a.soak ? 40 : 20;

/** A seed's node count when not given: 3 to `maxNodes`, drawn from the seed. */
const nodesFor = (seed: number) => fixedNodes ?? 3 + (((seed * 2654435761) >>> 0) % (maxNodes - 2));

function replay(seed: number, nodes: number): string {
  const extra = [replicants !== undefined ? ` --replicants ${replicants}` : '', a.kinds ? ` --kinds ${a.kinds}` : '', faults !== undefined ? ` --faults ${faults}` : '', phaseMs !== undefined ? ` --phase-ms ${phaseMs}` : ''].join('');
  return `npm run sim -- --seed ${seed} --nodes ${nodes}${extra} --verbose`;
}

async function main(): Promise<void> {
  const plan: Array<{ seed: number; nodes: number }> = [];
  if (a.soak && one === undefined) plan.push({ seed: from, nodes: 1000 });
  const count = a.soak && one === undefined ? Math.max(runs, 2000) : runs;
  for (let s = from; s < from + count; s++) plan.push({ seed: s, nodes: nodesFor(s) });
  let failed = 0;
  const started = performance.now();
  for (const { seed, nodes } of plan) {
    const sc = makeScenario({ seed, nodes, kinds, faults, faultPhaseMs: phaseMs });
    const t = performance.now();
    if (replicants !== undefined && replicants > nodes - 1) usage(`--replicants ${replicants} leaves no core among ${nodes} nodes`);
    const r = await simulate(sc, { verbose: a.verbose, replicants, seeds: replicants !== undefined ? Math.min(3, nodes - replicants) : undefined });
    const real = ((performance.now() - t) / 1000).toFixed(1);
    const line = `seed ${seed} nodes ${nodes}: formed in ${r.formedMs ?? '-'} ms, healed in ${r.healedMs ?? '-'} ms, ${r.writesAcked} writes acked, ${r.events} events, ${real} s real, fingerprint ${r.fingerprint}`;
    if (!r.violations.length) {
      console.log(`ok   ${line}`);
      if (one !== undefined) for (const f of r.faults) console.log(`     fault ${f}`);
      continue;
    }
    failed++;
    console.log(`FAIL ${line}`);
    for (const f of r.faults) console.log(`     fault ${f}`);
    for (const v of r.violations.slice(0, 20)) console.log(`     violated: ${v}`);
    if (r.violations.length > 20) console.log(`     ... ${r.violations.length - 20} more`);
    console.log(`     replay: ${replay(seed, nodes)}`);
  }
  const took = ((performance.now() - started) / 1000).toFixed(0);
  console.log(`${plan.length - failed} of ${plan.length} seed(s) held every invariant (${took} s)`);
  process.exitCode = failed ? 1 : 0;
}

void main();
