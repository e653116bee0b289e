import { createHash } from 'node:crypto';
import type { Alive } from '../domain/state';

/**
 * Which of two records about one member wins: the higher incarnation; at the same incarnation a
 * down claim (as SWIM's suspect/dead beat alive), so a claim can only be undone by the member
 * itself, with a higher incarnation.
 */
export function supersedes(a: Alive, b: Alive | undefined): boolean {
  if (!b) return true;
  if (a.inc !== b.inc) return a.inc > b.inc;
  return !a.up && b.up;
}

/** What a merged record changed: the member's previous record, if any. */
export interface Transition {
  record: Alive;
  previous?: Alive;
}

/**
 * This node's view of which members' processes are up. Members link only to a few neighbours
 * (membership/overlay.ts), so most of what a node knows here it heard: a member's own record
 * (up, with its incarnation), or a neighbour's claim that it went down, spread by gossip.
 *
 * This node's own record is always up. A claim that would beat it (the others think this node
 * went down, while it runs) is answered with a higher incarnation, which the caller spreads.
 */
export class Liveness {
  private readonly records = new Map<string, Alive>();
  private own: Alive;

  constructor(
    readonly self: string,
    boot: string,
    private readonly wall: () => number = Date.now,
  ) {
    // Wall-clock milliseconds: a restarted node starts above every incarnation of its last run.
    this.own = { node: self, boot, inc: wall(), up: true };
    this.records.set(self, this.own);
  }

  get ownRecord(): Alive {
    return this.own;
  }

  get(node: string): Alive | undefined {
    return this.records.get(node);
  }

  isUp(node: string): boolean {
    return this.records.get(node)?.up === true;
  }

  /** Not known to be down: a member never heard of counts (a restarted node links to its neighbours before it hears anything). */
  notDown(node: string): boolean {
    return this.records.get(node)?.up !== false;
  }

  values(): Alive[] {
    return [...this.records.values()];
  }

  /**
   * Merges a record. Returns the transition when it changed the view; a claim about this node that
   * beats its own record raises the own incarnation instead and returns the new own record.
   */
  merge(r: Alive): Transition | undefined {
    if (r.node === this.self) {
      if (!supersedes(r, this.own)) return undefined;
      const previous = this.own;
      this.own = { node: this.self, boot: this.own.boot, inc: Math.max(r.inc + 1, this.own.inc + 1, this.wall()), up: true };
      this.records.set(this.self, this.own);
      return { record: this.own, previous };
    }
    const previous = this.records.get(r.node);
    if (!supersedes(r, previous)) return undefined;
    this.records.set(r.node, r);
    return { record: r, previous };
  }

  /** A down claim for `node` at its latest known incarnation, or undefined if it is already down. */
  downClaim(node: string, boot: string, orderly: boolean, by: string): Alive | undefined {
    const cur = this.records.get(node);
    if (cur && !cur.up) return undefined;
    return { node, boot: cur?.boot ?? boot, inc: cur?.inc ?? 0, up: false, orderly: orderly || undefined, by };
  }

  /** Whether `theirs` (another node's view of this node) is older than this node's own record. */
  staleAboutSelf(theirs: Alive | undefined): boolean {
    return !theirs || supersedes(this.own, theirs);
  }

  delete(node: string): void {
    if (node !== this.self) this.records.delete(node);
  }

  /**
   * Forgets the down claims `by` made (a replicant's, made alone while no core was linked): the
   * core it links to again has the cluster's view, which then takes their place.
   */
  dropClaimsBy(by: string): void {
    for (const [node, r] of this.records) if (node !== this.self && !r.up && r.by === by) this.records.delete(node);
  }

  /** Forgets every other member (a new cluster). */
  reset(): void {
    this.records.clear();
    this.records.set(this.self, this.own);
  }

  /** Equal on two nodes exactly when their views are. */
  digest(): string {
    const h = createHash('sha256');
    for (const r of [...this.records.values()].sort((a, b) => (a.node < b.node ? -1 : 1))) h.update(`${r.node}\n${r.inc}\n${r.up ? 1 : 0}\n`);
    return h.digest('hex').slice(0, 32);
  }
}
