// Records the plan JSON fixtures of test/fixtures/plans/ (`terraform show -json` shape) with the
// test applier against a real Docker engine: a 3-node static cluster is deployed, then the plans
// of "add a node" and "change the strategy" (static to DNS SRV) are written, then it is destroyed.
// Run by hand after a change to the kit or the applier: node --import tsx test/e2e/record-plans.ts
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { MusterDockerStackProps } from '../../stacks/stacks/docker-stack';
import { StackApplier } from './applier';
import { converge, nodesOf, synthStack, VARS } from './helpers';
import { ensureStandInImages } from './standin-images';

const OUT = path.resolve(__dirname, '../fixtures/plans');

async function main(): Promise<void> {
  ensureStandInImages();
  const statePath = path.join(mkdtempSync(path.join(tmpdir(), 'muster-record-')), 'state.json');
  const props = (more: Partial<MusterDockerStackProps>): MusterDockerStackProps => ({ clusterName: 'review', subnet: '10.28.10.0/24', nodes: 3, discovery: { strategy: 'static' }, ...more });
  const base = new StackApplier(synthStack('review', props({})), VARS, { statePath });
  try {
    await base.apply();
    const { containers, names } = nodesOf('review');
    await converge(containers, names);
    const record = async (file: string, more: Partial<MusterDockerStackProps>) => {
      const doc = await new StackApplier(synthStack('review', props(more)), VARS, { statePath }).planDocument();
      writeFileSync(path.join(OUT, file), `${JSON.stringify(doc, null, 2)}\n`);
      console.log(`wrote ${file}`);
    };
    await record('add-a-node.json', { nodes: 4 });
    await record('change-strategy.json', { discovery: { strategy: 'dns', recordType: 'srv' } });
  } finally {
    await base.destroy();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
