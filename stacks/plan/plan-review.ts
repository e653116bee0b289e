/**
 * A pull-request summary of a real plan: reads `terraform show -json <planfile>` and says, per
 * node, whether it is created, changed in place, replaced or deleted, and why (which attribute
 * forces the replacement, which settings changed), with a Mermaid picture. The construct-based
 * `plan-summary.md` shows what a stack declares; this shows what applying it does.
 */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface TerraformPlanJson {
  resource_changes?: {
    address: string;
    type: string;
    change: { actions: string[]; before: Json | null; after: Json | null; replace_paths?: (string | number)[][] };
    action_reason?: string;
  }[];
}

export type NodeAction = 'create' | 'update' | 'replace' | 'delete' | 'unchanged';

export interface NodeChange {
  nodeName: string;
  container: string;
  action: NodeAction;
  why: string[];
}

/** Variables whose values never appear in a summary. */
const SECRET_ENV = /COOKIE|PASSWORD|SECRET|TOKEN/;

function actionOf(actions: string[]): NodeAction {
  if (actions.includes('delete') && actions.includes('create')) return 'replace';
  if (actions[0] === 'create') return 'create';
  if (actions[0] === 'delete') return 'delete';
  if (actions[0] === 'update') return 'update';
  return 'unchanged';
}

function label(r: Json | null, name: string): string | undefined {
  const labels = (r?.labels ?? []) as { label: string; value: string }[];
  return labels.find((l) => l.label === name)?.value;
}

function envMap(r: Json | null): Map<string, string> {
  return new Map(((r?.env ?? []) as string[]).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
}

/** What changed in a container's settings, in words a reviewer reads: variable names and new values (secrets redacted). */
function envChanges(before: Json | null, after: Json | null): string[] {
  const a = envMap(before);
  const b = envMap(after);
  const out: string[] = [];
  for (const k of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    if (a.get(k) === b.get(k)) continue;
    const shown = (v?: string) => (v === undefined ? 'unset' : SECRET_ENV.test(k) ? '(sensitive)' : v === '' || v === null ? '(known after apply)' : `\`${v}\``);
    out.push(SECRET_ENV.test(k) ? `\`${k}\` changed` : `\`${k}\` ${shown(a.get(k))} → ${shown(b.get(k))}`);
  }
  return out;
}

/** Which uploaded files change; their contents (the cookie's, for one) are never shown. */
function uploadChanges(before: Json | null, after: Json | null): string[] {
  const files = (r: Json | null) => new Map(((r?.upload ?? []) as Json[]).map((u) => [String(u.file), JSON.stringify(u)]));
  const a = files(before);
  const b = files(after);
  const changed = [...new Set([...a.keys(), ...b.keys()])].filter((f) => a.get(f) !== b.get(f)).sort();
  return changed.map((f) => (f.endsWith('/cookie') ? `the cookie file \`${f}\` changed (a new cookie)` : `file \`${f}\` ${!a.has(f) ? 'added' : !b.has(f) ? 'removed' : 'changed'}`));
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** Why a resource changes: the attributes that force its replacement, or those that change. */
function whyOf(c: NonNullable<TerraformPlanJson['resource_changes']>[number], action: NodeAction): string[] {
  const { before, after } = c.change;
  if (action === 'create') return ['new'];
  if (action === 'delete') return [c.action_reason === 'delete_because_no_resource_config' ? 'no longer declared' : 'deleted'];
  if (c.action_reason === 'replace_because_tainted') return ['tainted by a failed apply (e.g. not ready within wait_timeout)'];
  const attrs = action === 'replace' && c.change.replace_paths?.length
    ? [...new Set(c.change.replace_paths.map((p) => String(p[0])))]
    : Object.keys({ ...before, ...after }).filter((k) => !same(before?.[k], after?.[k]) && after?.[k] !== undefined);
  const why: string[] = [];
  for (const attr of attrs.sort()) {
    if (attr === 'env') why.push(...envChanges(before, after).map((e) => `${e} (env${action === 'replace' ? ', forces replacement' : ''})`));
    else if (attr === 'image') why.push(`a new image${action === 'replace' ? ' (forces replacement)' : ''}`);
    else if (attr === 'upload') why.push(...uploadChanges(before, after).map((u) => `${u}${action === 'replace' ? ' (upload, forces replacement)' : ''}`));
    else why.push(`\`${attr}\` changed${action === 'replace' ? ' (forces replacement)' : ''}`);
  }
  return why.length ? why : ['changed'];
}

/** The node containers (labelled with `muster.node-name` by the kit) and what the plan does to each. */
export function nodeChanges(plan: TerraformPlanJson): NodeChange[] {
  const out: NodeChange[] = [];
  for (const c of plan.resource_changes ?? []) {
    if (c.type !== 'docker_container') continue;
    const { before, after } = c.change;
    const nodeName = label(after, 'muster.node-name') ?? label(before, 'muster.node-name');
    if (!nodeName) continue;
    const action = actionOf(c.change.actions);
    out.push({ nodeName, container: String(after?.name ?? before?.name ?? c.address), action, why: action === 'unchanged' ? [] : whyOf(c, action) });
  }
  return out.sort((a, b) => (a.nodeName < b.nodeName ? -1 : 1));
}

const ICON: Record<NodeAction, string> = { create: '+ create', update: '~ update in place', replace: '-/+ replace', delete: '- delete', unchanged: 'unchanged' };

/** The Markdown summary of a plan, for a pull request. */
export function planReview(plan: TerraformPlanJson, title = 'Plan'): string {
  const changes = plan.resource_changes ?? [];
  const count = (a: NodeAction[]) => changes.filter((c) => a.includes(actionOf(c.change.actions))).length;
  const nodes = nodeChanges(plan);
  const replaced = nodes.filter((n) => n.action === 'replace' || n.action === 'delete').length;
  const running = nodes.filter((n) => n.action !== 'create').length;
  const out = [`# ${title}`, ''];
  out.push(`${count(['create', 'replace'])} to add, ${count(['update'])} to change, ${count(['delete', 'replace'])} to destroy.`, '');
  out.push(replaced ? `**${replaced} of ${running} running node(s) will be stopped** (replaced or deleted).` : '**No running node is stopped.**', '');
  out.push('## Nodes', '', '| node | container | action | why |', '|---|---|---|---|');
  for (const n of nodes) out.push(`| \`${n.nodeName}\` | ${n.container} | ${ICON[n.action]} | ${n.why.join('<br>')} |`);
  const others = changes.filter((c) => !(c.type === 'docker_container' && nodes.some((n) => n.container === (c.change.after?.name ?? c.change.before?.name))) && actionOf(c.change.actions) !== 'unchanged');
  if (others.length) {
    out.push('', '## Other resources', '', '| resource | action | why |', '|---|---|---|');
    for (const c of others) {
      const action = actionOf(c.change.actions);
      out.push(`| \`${c.address}\` | ${ICON[action]} | ${whyOf(c, action).join('<br>')} |`);
    }
  }
  out.push('', '```mermaid', 'graph LR');
  nodes.forEach((n, i) => out.push(`  n${i}["${n.container}<br/>${n.nodeName}<br/>${ICON[n.action]}"]:::${n.action}`));
  out.push('  classDef create fill:#d4f7d4;', '  classDef update fill:#fff3c4;', '  classDef replace fill:#ffd8b0;', '  classDef delete fill:#f7c4c4;', '  classDef unchanged fill:#eeeeee;', '```', '');
  return out.join('\n');
}
