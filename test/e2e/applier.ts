import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  createContainer,
  createImage,
  createNetwork,
  createVolume,
  deleteContainer,
  deleteImage,
  deleteNetwork,
  deleteVolume,
  readContainer,
  readImage,
  readNetwork,
  readVolume,
  TaintedError,
  updateContainer,
  updateImage,
  type Attrs,
  type ProviderContext,
} from './provider/resources';
import { META, SCHEMA, type AttrSpec } from './provider/schema';
import { evaluate } from './terraform-expressions';

/**
 * TEST TOOL, not a deployer: `cdktf deploy` is how users deploy. Terraform's Docker provider cannot
 * be downloaded here, so the end-to-end tests plan and apply a synthesized `cdk.tf.json` with this
 * stand-in for Terraform and kreuzwerker/docker v3.6.2, as strict as they are:
 *
 * - it refuses, before creating anything, every block, resource type, attribute or expression it
 *   does not model (provider/schema.ts lists what it models and where each rule was read);
 * - a plan refreshes every resource in its state file from the engine (with v3.6.2's destructive
 *   refresh of a stopped must_run container), then compares the config with it attribute by
 *   attribute: a changed ForceNew attribute replaces, another changes in place (and, where Update
 *   ignores it, comes back on every plan), a value known only after apply counts as changed;
 * - apply runs the changes as Terraform does (destroys in reverse dependency order, then creates
 *   in dependency order, 10 at a time), each with the provider's own steps (provider/resources.ts):
 *   must_run, wait for health, destroy_grace_seconds, tainted resources, its error messages.
 */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export class ApplierError extends Error {}

/** An unknown value: an attribute of a resource that is created or replaced in this plan. */
const UNKNOWN = '\u0000(known after apply)';

export type Action = 'create' | 'replace' | 'update' | 'delete';
export interface Change {
  address: string;
  action: Action;
  /** The attributes that make the change, e.g. `env (forces replacement)`. */
  reasons: string[];
  /** The attributes whose change forces the replacement (Terraform's `replace_paths`). */
  replacePaths?: string[];
  before?: Attrs;
  after?: Json;
}

interface StateEntry {
  type: string;
  attrs: Attrs;
  deps: string[];
  tainted?: boolean;
}
interface StateFile {
  version: 1;
  resources: Record<string, StateEntry>;
}

interface ConfigResource {
  address: string;
  type: string;
  body: Json;
  deps: Set<string>;
}

const PARALLELISM = 10; // terraform apply's default -parallelism

export interface ApplierOptions {
  /** The state file (kept across applier instances: a later synth of the stack plans against it). */
  statePath: string;
  /**
   * Tests only: sets (or, with null, removes) variables of one container's `env` (a wrong cookie),
   * as part of the config.
   */
  envOverrides?: Record<string, Record<string, string | null>>;
  /** Called with each step, like Terraform's apply output. */
  log?: (line: string) => void;
}

export class StackApplier {
  private readonly json: Json;
  private readonly config = new Map<string, ConfigResource>();
  private readonly ctx: ProviderContext;

  constructor(
    private readonly stackDir: string,
    private readonly vars: Record<string, string>,
    private readonly opts: ApplierOptions,
  ) {
    this.json = JSON.parse(readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8')) as Json;
    this.ctx = { cwd: stackDir, creationTime: 0 };
    this.check();
  }

  // -------------------------------------------------------------------------------------------
  // The config: checked whole before anything is planned.

  private check(): void {
    const problems: string[] = [];
    for (const key of Object.keys(this.json)) if (!['//', 'terraform', 'provider', 'resource', 'variable', 'output'].includes(key)) problems.push(`top-level block '${key}' is not implemented`);
    // Aliased docker providers are modelled (on the one test engine); a provider's settings (host,
    // registry_auth, ...) are not.
    const aliases = new Set<string>(['docker']);
    for (const [name, cfgs] of Object.entries(this.json.provider ?? {})) {
      if (name !== 'docker') problems.push(`provider '${name}' is not implemented`);
      for (const c of cfgs as Json[]) {
        const settings = Object.keys(c).filter((k) => k !== 'alias');
        if (settings.length) problems.push(`provider docker settings ${settings.join(', ')} are not implemented`);
        if (c.alias) aliases.add(`docker.${c.alias}`);
      }
    }
    for (const [type, byId] of Object.entries((this.json.resource ?? {}) as Json)) {
      const schema = SCHEMA[type];
      if (!schema) {
        problems.push(`resource type '${type}' is not implemented by the test applier`);
        continue;
      }
      for (const [id, raw] of Object.entries(byId as Json)) {
        const address = `${type}.${id}`;
        // Terraform's JSON syntax writes a single nested block as an object or as a list of one.
        const body = Object.fromEntries(
          Object.entries(this.withOverrides(type, raw as Json)).map(([k, v]) => [k, schema[k]?.nested && v && typeof v === 'object' && !Array.isArray(v) ? [v] : v]),
        );
        const deps = new Set<string>();
        for (const [attr, v] of Object.entries(body)) {
          if (META.includes(attr)) continue;
          const spec = schema[attr];
          if (!spec) {
            problems.push(`${address}: attribute '${attr}' is not implemented by the test applier`);
            continue;
          }
          if (spec.nested) {
            for (const item of Array.isArray(v) ? v : [v]) {
              for (const k of Object.keys(item as Json)) if (!spec.nested[k]) problems.push(`${address}.${attr}: attribute '${k}' is not implemented by the test applier`);
            }
          }
        }
        for (const d of body.depends_on ?? []) deps.add(d);
        problems.push(...this.checkLifecycle(address, body.lifecycle));
        if (body.provider !== undefined && !aliases.has(body.provider)) problems.push(`${address}: provider '${body.provider}' is not declared`);
        walkStrings({ ...body, lifecycle: undefined }, (s) => {
          for (const m of s.matchAll(/\$\{([^}]*)\}/g)) {
            const ref = m[1];
            if (/^var\.[A-Za-z0-9_]+$/.test(ref)) {
              if (this.variable(ref.slice(4)) === undefined) problems.push(`variable '${ref.slice(4)}' has no value: set TF_VAR_${ref.slice(4)}`);
            } else if (/^docker_(image|volume|network|container)\.[A-Za-z0-9_-]+\.(image_id|name)$/.test(ref)) {
              deps.add(ref.split('.').slice(0, 2).join('.'));
            } else problems.push(`${address}: expression '\${${ref}}' is not implemented by the test applier`);
          }
        });
        this.config.set(address, { address, type, body, deps });
      }
    }
    for (const r of this.config.values()) for (const d of r.deps) if (!this.config.has(d)) problems.push(`${r.address}: refers to undeclared resource ${d}`);
    if (problems.length) throw new ApplierError(`cannot apply ${this.stackDir}:\n  ${problems.join('\n  ')}`);
  }

  /**
   * `lifecycle`: only `precondition` blocks are modelled (Terraform evaluates each at plan and stops
   * with its error_message when false); ignore_changes, create_before_destroy, prevent_destroy and
   * replace_triggered_by would change what a plan does, so they are refused.
   */
  private checkLifecycle(address: string, lifecycle: unknown): string[] {
    if (lifecycle === undefined) return [];
    const problems: string[] = [];
    const blocks = Array.isArray(lifecycle) ? lifecycle : [lifecycle];
    for (const l of blocks as Json[]) {
      for (const k of Object.keys(l)) if (k !== 'precondition') problems.push(`${address}: lifecycle '${k}' is not implemented by the test applier`);
      for (const pc of (l.precondition ?? []) as Json[]) {
        if (typeof pc.condition !== 'string' || typeof pc.error_message !== 'string' || Object.keys(pc).some((k) => k !== 'condition' && k !== 'error_message')) {
          problems.push(`${address}: a precondition needs exactly condition and error_message`);
        }
      }
    }
    return problems;
  }

  /** Terraform checks every resource's preconditions during plan, before any change. */
  private checkPreconditions(): void {
    const failed: string[] = [];
    for (const r of this.config.values()) {
      const blocks = r.body.lifecycle === undefined ? [] : Array.isArray(r.body.lifecycle) ? r.body.lifecycle : [r.body.lifecycle];
      for (const pc of blocks.flatMap((l: Json) => (l.precondition ?? []) as Json[])) {
        let ok: unknown;
        try {
          ok = evaluate(pc.condition, (name) => this.variable(name), this.stackDir);
        } catch (e) {
          throw new ApplierError(`${r.address}: precondition: ${(e as Error).message}`);
        }
        if (typeof ok !== 'boolean') throw new ApplierError(`${r.address}: Invalid condition result: a condition must be a bool`);
        if (!ok) failed.push(`Resource precondition failed (${r.address}): ${pc.error_message}`);
      }
    }
    if (failed.length) throw new ApplierError(failed.join('\n'));
  }

  private withOverrides(type: string, body: Json): Json {
    const o = type === 'docker_container' ? this.opts.envOverrides?.[body.name] : undefined;
    if (!o) return body;
    const kept = (body.env as string[]).filter((e) => !(e.slice(0, e.indexOf('=')) in o));
    return { ...body, env: [...kept, ...Object.entries(o).filter(([, v]) => v !== null).map(([k, v]) => `${k}=${v}`)] };
  }

  private variable(name: string): string | undefined {
    return this.vars[name] ?? (this.json.variable?.[name]?.default as string | undefined);
  }

  /** The config of a resource with every `${...}` replaced; attributes of resources still to be made are UNKNOWN. */
  private resolve(body: Json, lookup: (address: string, attr: string) => unknown): Json {
    const r = (v: unknown): unknown => {
      if (typeof v === 'string') {
        const whole = /^\$\{([^}]*)\}$/.exec(v);
        const one = (ref: string) => {
          if (ref.startsWith('var.')) return this.variable(ref.slice(4))!;
          const [type, id, attr] = ref.split('.');
          return lookup(`${type}.${id}`, attr);
        };
        if (whole) return one(whole[1]);
        const parts = v.replace(/\$\{([^}]*)\}/g, (_, ref: string) => String(one(ref)));
        return parts.includes(UNKNOWN) ? UNKNOWN : parts;
      }
      if (Array.isArray(v)) return v.map(r);
      if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([k]) => !META.includes(k)).map(([k, x]) => [k, r(x)]));
      return v;
    };
    return r(body) as Json;
  }

  // -------------------------------------------------------------------------------------------
  // State

  private loadState(): StateFile {
    if (!existsSync(this.opts.statePath)) return { version: 1, resources: {} };
    return JSON.parse(readFileSync(this.opts.statePath, 'utf8')) as StateFile;
  }

  private saveState(s: StateFile): void {
    writeFileSync(this.opts.statePath, `${JSON.stringify(s, null, 2)}\n`);
  }

  private async refresh(state: StateFile): Promise<void> {
    // Images and networks first: a container's refresh may delete it (must_run), as v3.6.2's does.
    for (const type of ['docker_image', 'docker_network', 'docker_volume', 'docker_container']) {
      for (const [address, e] of Object.entries(state.resources)) {
        if (e.type !== type) continue;
        const ctx: ProviderContext = { cwd: this.stackDir, creationTime: 0 };
        const read =
          type === 'docker_container' ? await readContainer(ctx, e.attrs) : type === 'docker_network' ? await readNetwork(e.attrs) : type === 'docker_volume' ? await readVolume(e.attrs) : await readImage(e.attrs);
        if (read) e.attrs = read;
        else delete state.resources[address];
      }
    }
    this.saveState(state);
  }

  // -------------------------------------------------------------------------------------------
  // Plan

  /** `terraform plan`: refreshes the state from the engine and lists what apply would change. */
  async plan(): Promise<Change[]> {
    const state = this.loadState();
    await this.refresh(state);
    return this.diff(state);
  }

  /** `terraform plan -out p && terraform show -json p`: every resource, the unchanged ones as no-op. */
  async planDocument(): Promise<Json> {
    const state = this.loadState();
    await this.refresh(state);
    const changes = this.diff(state);
    const doc = planJson(changes);
    for (const r of this.ordered()) {
      if (changes.some((c) => c.address === r.address)) continue;
      const attrs = state.resources[r.address].attrs;
      (doc.resource_changes as Json[]).push({ address: r.address, mode: 'managed', type: r.type, name: r.address.split('.').slice(1).join('.'), change: { actions: ['no-op'], before: attrs, after: attrs } });
    }
    return doc;
  }

  private diff(state: StateFile): Change[] {
    this.checkPreconditions();
    const changes = new Map<string, Change>();
    for (const r of this.ordered()) {
      const e = state.resources[r.address];
      const planned = this.resolve(r.body, (address, attr) => {
        const c = changes.get(address);
        if (c && (c.action === 'create' || c.action === 'replace')) {
          const known = this.config.get(address)!.body[attr];
          return typeof known === 'string' && !known.includes('${') ? known : UNKNOWN;
        }
        return state.resources[address]?.attrs[attr];
      });
      const after = shown(planned);
      if (!e) {
        changes.set(r.address, { address: r.address, action: 'create', reasons: [], after });
        continue;
      }
      const d = diffAttrs(SCHEMA[r.type], planned, e.attrs);
      const before = e.attrs;
      if (e.tainted) changes.set(r.address, { address: r.address, action: 'replace', reasons: ['tainted'], replacePaths: [], before, after });
      else if (d.forceNew.length)
        changes.set(r.address, { address: r.address, action: 'replace', reasons: [...d.forceNew.map((a) => `${a.text} (forces replacement)`), ...d.inPlace.map((a) => a.text)], replacePaths: d.forceNew.map((a) => a.attr), before, after });
      else if (d.inPlace.length) changes.set(r.address, { address: r.address, action: 'update', reasons: d.inPlace.map((a) => a.text), before, after });
    }
    for (const address of Object.keys(state.resources)) if (!this.config.has(address)) changes.set(address, { address, action: 'delete', reasons: ['not in the config'], before: state.resources[address].attrs });
    return [...changes.values()];
  }

  /** Config resources, dependencies first. */
  private ordered(): ConfigResource[] {
    const out: ConfigResource[] = [];
    const seen = new Set<string>();
    const visit = (r: ConfigResource) => {
      if (seen.has(r.address)) return;
      seen.add(r.address);
      for (const d of r.deps) visit(this.config.get(d)!);
      out.push(r);
    };
    for (const r of [...this.config.values()].sort((a, b) => (a.address < b.address ? -1 : 1))) visit(r);
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Apply

  /** `terraform apply -auto-approve`: plans, then makes the changes. Throws with every error, the state saved as it ended. */
  async apply(): Promise<Change[]> {
    const state = this.loadState();
    await this.refresh(state);
    const changes = this.diff(state);
    const byAddress = new Map(changes.map((c) => [c.address, c]));
    const log = this.opts.log ?? (() => undefined);
    const depsOf = (address: string) => this.config.get(address)?.deps ?? new Set(state.resources[address]?.deps ?? []);

    // Ops: destroy of deleted and replaced resources, then create/update; each waits for the ops it depends on.
    interface Op {
      key: string;
      after: string[];
      run: () => Promise<void>;
    }
    const ops: Op[] = [];
    const destroying = changes.filter((c) => c.action === 'delete' || c.action === 'replace').map((c) => c.address);
    for (const address of destroying) {
      // Destroyed after everything being destroyed that depends on it.
      const dependents = destroying.filter((o) => o !== address && depsOf(o).has(address));
      ops.push({
        key: `destroy ${address}`,
        after: dependents.map((o) => `destroy ${o}`),
        run: async () => {
          const e = state.resources[address];
          const t0 = Date.now();
          log(`${address}: Destroying...`);
          await destroyResource(e);
          delete state.resources[address];
          this.saveState(state);
          log(`${address}: Destruction complete after ${secs(Date.now() - t0)}`);
        },
      });
    }
    for (const c of changes.filter((x) => x.action !== 'delete')) {
      const r = this.config.get(c.address)!;
      const after = [...r.deps].filter((d) => byAddress.has(d) && byAddress.get(d)!.action !== 'delete').map((d) => `make ${d}`);
      if (c.action === 'replace') after.push(`destroy ${c.address}`);
      ops.push({
        key: `make ${c.address}`,
        after,
        run: async () => {
          const body = this.resolve(r.body, (address, attr) => state.resources[address]?.attrs[attr]);
          const t0 = Date.now();
          log(`${c.address}: ${c.action === 'update' ? 'Modifying' : 'Creating'}...`);
          try {
            const attrs = c.action === 'update' ? await this.updateResource(r.type, state.resources[c.address].attrs, body) : await this.createResource(r.type, body);
            state.resources[c.address] = { type: r.type, attrs, deps: [...r.deps] };
          } catch (e) {
            if (e instanceof TaintedError) state.resources[c.address] = { type: r.type, attrs: e.attrs, deps: [...r.deps], tainted: true };
            this.saveState(state);
            throw e;
          }
          this.saveState(state);
          log(`${c.address}: ${c.action === 'update' ? 'Modifications' : 'Creation'} complete after ${secs(Date.now() - t0)}`);
        },
      });
    }
    const errors = await runGraph(ops, PARALLELISM);
    if (errors.length) throw new ApplierError(`apply of ${path.basename(this.stackDir)} failed:\n  ${errors.map(([k, e]) => `${k}: ${e.message}`).join('\n  ')}`);
    return changes;
  }

  private async createResource(type: string, body: Json): Promise<Attrs> {
    const planned = withDefaults(SCHEMA[type], body);
    switch (type) {
      case 'docker_container':
        return createContainer(this.ctx, planned);
      case 'docker_network':
        return createNetwork(planned);
      case 'docker_volume':
        return createVolume(planned);
      default:
        return createImage(this.ctx, planned);
    }
  }

  private async updateResource(type: string, current: Attrs, body: Json): Promise<Attrs> {
    const planned = { ...current, ...withDefaults(SCHEMA[type], body) };
    if (type === 'docker_container') return updateContainer(current, planned);
    if (type === 'docker_image') return updateImage(this.ctx, planned);
    throw new ApplierError(`${type} has no Update in v3.6.2: every change replaces it`);
  }

  /** `terraform destroy -auto-approve`: everything in the state, dependents first. */
  async destroy(): Promise<void> {
    const state = this.loadState();
    const addresses = Object.keys(state.resources);
    const errors = await runGraph(
      addresses.map((address) => ({
        key: address,
        after: addresses.filter((o) => o !== address && state.resources[o].deps.includes(address)),
        run: async () => {
          await destroyResource(state.resources[address]);
          delete state.resources[address];
          this.saveState(state);
        },
      })),
      PARALLELISM,
    );
    if (errors.length) throw new ApplierError(`destroy failed:\n  ${errors.map(([k, e]) => `${k}: ${e.message}`).join('\n  ')}`);
  }
}

function destroyResource(e: StateEntry): Promise<void> {
  switch (e.type) {
    case 'docker_container':
      return deleteContainer(e.attrs);
    case 'docker_network':
      return deleteNetwork(e.attrs);
    case 'docker_volume':
      return deleteVolume(e.attrs);
    default:
      return deleteImage(e.attrs);
  }
}

/** Runs ops once all they wait for are done, `limit` at a time; an op after a failed one does not run. */
async function runGraph(ops: { key: string; after: string[]; run: () => Promise<void> }[], limit: number): Promise<[string, Error][]> {
  const keys = new Set(ops.map((o) => o.key));
  const done = new Set<string>();
  const failed = new Set<string>();
  const errors: [string, Error][] = [];
  const pending = [...ops];
  const running = new Set<Promise<void>>();
  for (;;) {
    for (let i = 0; i < pending.length && running.size < limit; ) {
      const op = pending[i];
      const waits = op.after.filter((k) => keys.has(k));
      if (waits.some((k) => failed.has(k))) {
        pending.splice(i, 1);
        failed.add(op.key);
        continue;
      }
      if (!waits.every((k) => done.has(k))) {
        i++;
        continue;
      }
      pending.splice(i, 1);
      const p: Promise<void> = op
        .run()
        .then(
          () => void done.add(op.key),
          (e: Error) => {
            failed.add(op.key);
            errors.push([op.key, e]);
          },
        )
        .finally(() => running.delete(p));
      running.add(p);
    }
    if (running.size === 0) break;
    await Promise.race(running);
  }
  for (const op of pending) errors.push([op.key, new Error('not run: a dependency cycle')]);
  return errors;
}

const secs = (ms: number) => `${Math.round(ms / 1000)}s`;

function walkStrings(v: unknown, fn: (s: string) => void): void {
  if (typeof v === 'string') fn(v);
  else if (Array.isArray(v)) v.forEach((x) => walkStrings(x, fn));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (k !== '//') walkStrings(x, fn);
}

/** The config with the schema's defaults for what it leaves out (nested blocks included). */
function withDefaults(schema: Record<string, AttrSpec>, body: Json): Json {
  const out: Json = {};
  for (const [attr, spec] of Object.entries(schema)) {
    let v = body[attr];
    if (v === undefined) v = spec.default;
    if (v !== undefined && spec.nested) v = (v as Json[]).map((el) => withDefaults(spec.nested!, el));
    if (v !== undefined) out[attr] = v;
  }
  return out;
}

/** An attribute's value in a canonical form: absent, empty list and empty map are one; sets sorted. */
function canon(spec: AttrSpec, v: unknown): unknown {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) {
    if (v.length === 0) return undefined;
    const items = v.map((x) => (spec.nested ? canonBlock(spec.nested, x as Json) : x));
    return spec.set ? [...new Set(items.map((x) => JSON.stringify(x)))].sort().map((x) => JSON.parse(x)) : items;
  }
  if (typeof v === 'object') return Object.keys(v as object).length ? Object.fromEntries(Object.entries(v as object).sort(([a], [b]) => (a < b ? -1 : 1))) : undefined;
  return v;
}

function canonBlock(nested: Record<string, AttrSpec>, el: Json): Json {
  const out: Json = {};
  for (const [k, spec] of Object.entries(nested)) {
    const v = canon(spec, el[k] ?? spec.default);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

const hasUnknown = (v: unknown): boolean => (typeof v === 'string' ? v === UNKNOWN : Array.isArray(v) ? v.some(hasUnknown) : v && typeof v === 'object' ? Object.values(v).some(hasUnknown) : false);

/** Which attributes differ between the planned config and the (refreshed) state, and whether each forces replacement. */
interface AttrChange {
  attr: string;
  text: string;
}

function diffAttrs(schema: Record<string, AttrSpec>, planned: Json, state: Attrs): { forceNew: AttrChange[]; inPlace: AttrChange[] } {
  const forceNew: AttrChange[] = [];
  const inPlace: AttrChange[] = [];
  for (const [attr, spec] of Object.entries(schema)) {
    let c = planned[attr];
    if (c === undefined) {
      if (spec.computed) continue;
      c = spec.default;
    }
    const a = canon(spec, c);
    const b = canon(spec, state[attr]);
    if (!hasUnknown(a) && JSON.stringify(a) === JSON.stringify(b)) continue;
    let replaces = spec.forceNew;
    if (spec.nested && !hasUnknown(a)) {
      const was = new Set(((b as Json[]) ?? []).map((x) => JSON.stringify(x)));
      const added = ((a as Json[]) ?? []).filter((x) => !was.has(JSON.stringify(x)));
      const countChanged = ((a as Json[]) ?? []).length !== ((b as Json[]) ?? []).length;
      // SDK v2: the count of a Set takes the block's ForceNew; a changed element replaces when one of its fields is ForceNew.
      replaces = (spec.set && countChanged && spec.forceNew) || added.some((el) => Object.keys(el).some((k) => spec.nested![k]?.forceNew));
    }
    (replaces ? forceNew : inPlace).push({ attr, text: `${attr}: ${show(b)} -> ${show(a)}` });
  }
  return { forceNew, inPlace };
}

function show(v: unknown): string {
  // resolve() makes a value that depends on an unknown wholly UNKNOWN, so a replacer finds each.
  const s = JSON.stringify(v, (_, x) => (x === UNKNOWN ? '(known after apply)' : x)) ?? 'null';
  return s.length > 200 ? `${s.slice(0, 200)}...` : s;
}

/** A planned value with unknowns as Terraform shows them (null in `after`, listed in `after_unknown`). */
function shown(v: Json): Json {
  return JSON.parse(JSON.stringify(v, (_, x) => (x === UNKNOWN ? null : x))) as Json;
}

const TF_ACTIONS: Record<Action, string[]> = { create: ['create'], update: ['update'], replace: ['delete', 'create'], delete: ['delete'] };

/**
 * The plan in the shape of `terraform show -json <planfile>` (format 1.2): `resource_changes`
 * with `actions`, `before`, `after` and, for a replacement, `replace_paths` and `action_reason`.
 * The kit's `npm run plan:summary -- plan.json` reads this shape.
 */
export function planJson(changes: Change[]): Json {
  return {
    format_version: '1.2',
    terraform_version: 'muster-test-applier (kreuzwerker/docker v3.6.2 rules)',
    resource_changes: changes.map((c) => {
      const [type, ...rest] = c.address.split('.');
      return {
        address: c.address,
        mode: 'managed',
        type,
        name: rest.join('.'),
        provider_name: 'registry.terraform.io/kreuzwerker/docker',
        change: {
          actions: TF_ACTIONS[c.action],
          before: c.before ?? null,
          after: c.action === 'delete' ? null : (c.after ?? null),
          ...(c.action === 'replace' ? { replace_paths: (c.replacePaths ?? []).map((p) => [p]) } : {}),
        },
        ...(c.action === 'replace' ? { action_reason: c.reasons[0] === 'tainted' ? 'replace_because_tainted' : 'replace_because_cannot_update' } : {}),
        ...(c.action === 'delete' ? { action_reason: 'delete_because_no_resource_config' } : {}),
      };
    }),
  };
}

/** Terraform's one-line plan summary. */
export function planSummary(changes: Change[]): string {
  const n = (a: Action[]) => changes.filter((c) => a.includes(c.action)).length;
  if (changes.length === 0) return 'No changes. Your infrastructure matches the configuration.';
  return `Plan: ${n(['create', 'replace'])} to add, ${n(['update'])} to change, ${n(['delete', 'replace'])} to destroy.`;
}
