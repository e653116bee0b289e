import { parseArgs } from 'node:util';
import { World } from './world';

/**
 * Cost and timing of the real membership code at N nodes, in virtual time (docs/architecture.md's
 * scale table): formation, a frozen member's detection, a partition's heal, idle traffic per node,
 * and the frames a late joiner exchanges until it is admitted.
 *
 *   node --import tsx test/sim/scale.ts --nodes 300
 */
const { values: a } = parseArgs({ options: { nodes: { type: 'string', default: '100' }, seed: { type: 'string', default: '1' }, 'far-side-cap-s': { type: 'string', default: '300' } } });
/** How long to wait for a partition's far side to show stopped (by name it takes O(N): see architecture.md). */
const farSideCapMs = Number(a['far-side-cap-s']) * 1000;
const n = Number(a.nodes);
const seed = Number(a.seed);
if (!Number.isInteger(n) || n < 4 || n > 1000) {
  process.stderr.write(`scale: --nodes must be a whole number from 4 to 1000, not '${a.nodes}'\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const real = performance.now();
  const w = new World({ seed, nodes: n });
  const late = w.nodes[n - 1];
  // Containers starting over 2 s, the last node held back to measure one admission on its own.
  for (const node of w.nodes) if (node !== late) w.sched.after(w.random.fraction() * 2000, () => node.start());
  await w.run(2000);
  const formed = await w.runUntil(() => w.converged() && w.running.length === n - 1, 600_000, 100);
  const row: Record<string, string | number> = { nodes: n };
  row.formed_after_last_start_ms = formed ?? 'not formed in 600 s';
  progress(row);

  // Idle: 60 s of a formed cluster, per node.
  await w.run(30_000);
  const bytes0 = sum(w.net.sentBytes);
  const frames0 = sum(w.net.sentFrames);
  await w.run(60_000);
  row.idle_bytes_per_node_s = round((sum(w.net.sentBytes) - bytes0) / (n - 1) / 60);
  row.idle_frames_per_node_s = round((sum(w.net.sentFrames) - frames0) / (n - 1) / 60);
  progress(row);

  // One admission: the frames the joiner sends and receives until the cluster lists it running.
  const sentBefore = w.net.sentFrames.get(late.address) ?? 0;
  late.start();
  const admitted = await w.runUntil(() => w.nodes[0].node!.status().running_nodes.includes(late.name), 30_000, 1);
  row.admission_ms = admitted ?? 'not admitted in 30 s';
  row.admission_frames_sent_by_joiner = (w.net.sentFrames.get(late.address) ?? 0) - sentBefore;
  progress(row);
  await w.runUntil(() => w.converged(), 60_000, 100);

  // Detection: a member frozen; when every other member shows it stopped.
  const victim = w.nodes[Math.floor(n / 2)];
  w.sched.freeze(victim.process!);
  const detected = await w.runUntil(() => w.running.every((x) => x === victim || !x.node!.status().running_nodes.includes(victim.name)), 60_000, 10);
  row.detection_ms = detected ?? 'not detected in 60 s';
  progress(row);
  w.sched.thaw(victim.process!);
  await w.runUntil(() => w.converged(), 60_000, 100);

  // Partitions in two halves: by name (the first half of the names apart from the second, as
  // nodes named by zone would split) and shuffled. How long until node 1 shows exactly its own half
  // running, then, once healed, until it is one cluster again.
  const names = w.nodes.map((x) => x.address);
  const shuffled = [...names];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(w.random.fraction() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
  }
  for (const [label, order] of [['by_name', names], ['shuffled', shuffled]] as const) {
    const side = new Set(order.slice(0, n / 2));
    const first = w.nodes.find((x) => side.has(x.address))!;
    w.net.partition([order.slice(0, n / 2), order.slice(n / 2)]);
    const split = await w.runUntil(() => first.node!.status().running_nodes.length === side.size, farSideCapMs, 50);
    row[`partition_${label}_far_side_stopped_ms`] = split ?? `not within ${farSideCapMs / 1000} s (${first.node!.status().running_nodes.length - side.size} far members still shown running)`;
    w.net.healPartition();
    const healed = await w.runUntil(() => w.converged(), 120_000, 50);
    row[`partition_${label}_heal_ms`] = healed ?? 'not healed in 120 s';
    progress(row);
  }
  row.events = w.sched.ran;
  row.real_s = round((performance.now() - real) / 1000);
  row.errors = w.errors.length;
  console.log(JSON.stringify(row));
}

/** Each figure on stderr as it is measured: a run at N = 1,000 takes most of an hour. */
function progress(row: Record<string, string | number>): void {
  process.stderr.write(`${JSON.stringify(row)}\n`);
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((x, y) => x + y, 0);
const round = (x: number) => Math.round(x * 10) / 10;

void main();
