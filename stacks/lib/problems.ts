import type { IConstruct } from 'constructs';
import { TerraformStack } from './cdktf';

/** One thing wrong with a construct: its path and a line naming the field and what is allowed. */
export interface KitProblem {
  readonly path: string;
  readonly message: string;
}

/**
 * The one error the kit raises for bad input: every problem in every Muster construct of the app,
 * found while the constructs were built and by the checks across constructs, thrown by `cdktf
 * synth` before any stack is written.
 */
export class KitValidationError extends Error {
  constructor(
    readonly problems: readonly KitProblem[],
    note = '',
  ) {
    super(`${problems.length} problem${problems.length === 1 ? '' : 's'} in the Muster constructs${note}; nothing was synthesized:\n${problems.map((p) => `  [${p.path}] ${p.message}`).join('\n')}`);
    this.name = 'KitValidationError';
  }
}

interface Found {
  readonly problems: string[];
  readonly checks: Array<() => string[]>;
  /** Its props failed validation: it was built from fallbacks, so its own checks and its children's would only report the fallbacks. */
  propsInvalid: boolean;
}

const found = new WeakMap<IConstruct, Found>();
const watched = new WeakSet<IConstruct>();

function entry(scope: IConstruct): Found {
  let f = found.get(scope);
  if (!f) {
    f = { problems: [], checks: [], propsInvalid: false };
    found.set(scope, f);
  }
  watchStack(scope);
  return f;
}

/** The app-wide result, kept for the tree it was found in (the next stack's validation reuses it). */
const lastFound = new WeakMap<IConstruct, { constructs: number; problems: KitProblem[] }>();

/**
 * The whole app's problems are reported by one validation on each stack holding a kit construct.
 * cdktf validates a stack before writing it, and a stack's own validations before its children's,
 * so the first stack validated throws the full list and nothing is written. The checks run once
 * per app, not once per stack: the next stacks reuse the result while the tree is the same size.
 */
function watchStack(scope: IConstruct): void {
  const stack = TerraformStack.of(scope);
  if (watched.has(stack)) return;
  watched.add(stack);
  stack.node.addValidation({
    validate: () => {
      const root = stack.node.root;
      const constructs = root.node.findAll().length;
      let found = lastFound.get(root);
      if (found?.constructs !== constructs) {
        found = { constructs, problems: kitProblems(root) };
        lastFound.set(root, found);
      }
      if (found.problems.length) throw new KitValidationError(found.problems);
      return [];
    },
  });
}

/** Records a problem found while building `scope`; construction goes on, synth reports it. */
export function reportProblem(scope: IConstruct, message: string): void {
  entry(scope).problems.push(message);
}

/** A check run at synth, when every construct exists (rules across constructs). */
export function addCheck(scope: IConstruct, check: () => string[]): void {
  entry(scope).checks.push(check);
}

/** Marks `scope` as built from fallback props (see `parseProps`). */
export function markPropsInvalid(scope: IConstruct): void {
  entry(scope).propsInvalid = true;
}

/** Whether `scope` or a construct above it was built from fallback props. */
export function builtFromFallbacks(scope: IConstruct): boolean {
  return scope.node.scopes.some((s) => found.get(s)?.propsInvalid === true);
}

/** Every problem in the tree under `root`, in construct order; `checks: false` while the tree is still being built. */
export function kitProblems(root: IConstruct, { checks = true } = {}): KitProblem[] {
  const out: KitProblem[] = [];
  for (const c of root.node.findAll()) {
    const f = found.get(c);
    if (!f) continue;
    // Below a construct built from fallbacks, anything found is about the fallbacks, not the user's input.
    if (c.node.scopes.slice(0, -1).some((s) => found.get(s)?.propsInvalid === true)) continue;
    const lines = f.propsInvalid || !checks ? f.problems : [...f.problems, ...f.checks.flatMap((check) => check())];
    // A construct passing its props on (a cluster's cookie to each node) reports the problem once, where the user gave it.
    const above = new Set(c.node.scopes.slice(0, -1).flatMap((s) => out.filter((p) => p.path === s.node.path).map((p) => p.message)));
    for (const message of new Set(lines)) if (!above.has(message)) out.push({ path: c.node.path, message });
  }
  return out;
}

/**
 * Stops building at `scope`, whose props cannot be completed even from fallbacks: throws every
 * problem recorded so far in the app (constructs made later are not seen).
 */
export function stopAt(scope: IConstruct): never {
  throw new KitValidationError(kitProblems(scope.node.root, { checks: false }), ` (building stopped at ${scope.node.path}: it cannot be built from these props)`);
}
