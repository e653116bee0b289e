import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { nodeChanges, planReview, type TerraformPlanJson } from '../../stacks/plan/plan-review';

// The pull-request summary of a real plan (`npm run plan:summary -- plan.json`), on plans recorded
// with the test applier from a deployed cluster (test/fixtures/plans/README.md says how).

const ROOT = path.resolve(__dirname, '../..');
const fixture = (name: string) => JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/plans', name), 'utf8')) as TerraformPlanJson;

describe('plan review from terraform show -json', () => {
  it('add a node: the new node is created, no running node is stopped', () => {
    const plan = fixture('add-a-node.json');
    assert.deepEqual(
      nodeChanges(plan).map((n) => [n.nodeName, n.action]),
      [
        ['muster@node1.review.internal', 'unchanged'],
        ['muster@node2.review.internal', 'unchanged'],
        ['muster@node3.review.internal', 'unchanged'],
        ['muster@node4.review.internal', 'create'],
      ],
    );
    const md = planReview(plan, 'Add a node');
    assert.match(md, /\*\*No running node is stopped\.\*\*/);
    assert.match(md, /\| `muster@node4\.review\.internal` \| review-node4 \| \+ create \| new \|/);
  });

  it('change the strategy: every node is replaced, and the summary says which settings force it', () => {
    const plan = fixture('change-strategy.json');
    const nodes = nodeChanges(plan);
    assert.deepEqual(nodes.map((n) => n.action), ['replace', 'replace', 'replace']);
    for (const n of nodes) {
      assert.ok(n.why.includes('`MUSTER_CLUSTER__DISCOVERY_STRATEGY` `static` → `dns` (env, forces replacement)'), n.why.join('\n'));
      assert.ok(n.why.some((w) => w.startsWith('`MUSTER_CLUSTER__STATIC__SEEDS`')));
    }
    const md = planReview(plan, 'Change the strategy');
    assert.match(md, /\*\*3 of 3 running node\(s\) will be stopped\*\*/);
    assert.match(md, /\| `docker_container\.cluster_dns_container_[0-9A-F]+` \| \+ create \| new \|/);
    assert.match(md, /```mermaid\ngraph LR\n/);
  });

  it('never shows the cookie: a rotation says the variable changed, not its values', () => {
    const plan = fixture('add-a-node.json');
    const rotated = JSON.parse(JSON.stringify(plan)) as TerraformPlanJson;
    const node1 = rotated.resource_changes!.find((c) => c.change.after?.name === 'review-node1')!;
    node1.change.actions = ['delete', 'create'];
    node1.change.replace_paths = [['upload']];
    node1.change.after = { ...node1.change.after, upload: (node1.change.after!.upload as { file: string }[]).map((u) => (u.file === '/etc/muster/cookie' ? { ...u, content: 'new-secret' } : u)) };
    const md = planReview(rotated);
    assert.match(md, /the cookie file `\/etc\/muster\/cookie` changed \(a new cookie\) \(upload, forces replacement\)/);
    const cookie = (node1.change.before!.upload as { file: string; content: string }[]).find((u) => u.file === '/etc/muster/cookie')!.content;
    assert.ok(!md.includes(cookie) && !md.includes('new-secret'), 'no cookie value in the summary');
  });

  it('the CLI prints it, and refuses what is not a plan with exit 2', () => {
    const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'stacks/plan/cli.ts'), ...args], { encoding: 'utf8', cwd: ROOT });
    const ok = cli([path.join(ROOT, 'test/fixtures/plans/add-a-node.json'), 'Add a node']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^# Add a node\n/);
    const missing = cli(['/nonexistent/plan.json']);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /plan:summary: cannot read \/nonexistent\/plan\.json \(ENOENT\)/);
    const other = path.join(mkdtempSync(path.join(tmpdir(), 'plan-')), 'x.json');
    writeFileSync(other, '{"format_version":"1.0"}');
    const notPlan = cli([other]);
    assert.equal(notPlan.status, 2);
    assert.match(notPlan.stderr, /has no resource_changes: it is not the output of terraform show -json/);
  });
});
