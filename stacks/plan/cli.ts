// `npm run plan:summary`: with no argument, synthesizes every stack with its construct summary
// (cdktf.out/stacks/<stack>/plan-summary.md); with `-- plan.json [title]`, reads the output of
// `terraform show -json <planfile>` and prints what applying it does to each node, as Markdown.
import { readFileSync } from 'node:fs';
import { synthAll } from '../main';
import { planReview, type TerraformPlanJson } from './plan-review';

function fail(message: string): never {
  process.stderr.write(`plan:summary: ${message}\n`);
  process.exit(2);
}

const [file, title] = process.argv.slice(2);
if (!file) {
  const out = synthAll();
  process.stdout.write(`construct summaries: ${out}/stacks/<stack>/plan-summary.md\n`);
} else {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    fail(`cannot read ${file} (${(e as NodeJS.ErrnoException).code}); give the output of terraform show -json <planfile>`);
  }
  let plan: TerraformPlanJson;
  try {
    plan = JSON.parse(text) as TerraformPlanJson;
  } catch {
    fail(`${file} is not JSON; give the output of terraform show -json <planfile>`);
  }
  if (!Array.isArray(plan.resource_changes)) fail(`${file} has no resource_changes: it is not the output of terraform show -json <planfile>`);
  process.stdout.write(planReview(plan, title ?? `Plan (${file})`));
}
