import type { MemberEntry } from '../domain/state';
import type { NodeRole } from '../config/schema';
import { pairScore } from './pair-hash';

/**
 * EMQX 5's node roles (Mria): core nodes form the cluster among themselves (the ring of
 * membership/overlay.ts, the prober, autoheal and autoclean), and each holds the whole data;
 * replicant nodes link to a few cores only, keep a copy of the data for reads, and hand every
 * write to a core. A member entry without a role is a core (state written before roles existed).
 */
export function roleOf(entry: MemberEntry | undefined): NodeRole {
  return entry?.role === 'replicant' ? 'replicant' : 'core';
}

/**
 * The cores a replicant links to: its first `count` cores by rendezvous hashing (the order of
 * `pairScore(replicant, core)`, which every node computes alike), passing over cores that are
 * down or in trouble here (`usable`). Each of C cores so carries about R x count / C of R
 * replicants, and when a core stops, only its replicants move, each to its own next core: the load
 * spreads over the others instead of landing on one. With no usable core at all, every core is
 * wanted: whichever comes back first is linked at once.
 */
export function coresFor(replicant: string, cores: readonly string[], usable: (core: string) => boolean, count: number): string[] {
  const ranked = [...cores].sort((a, b) => pairScore(replicant, a) - pairScore(replicant, b) || (a < b ? -1 : 1));
  const picked = ranked.filter(usable).slice(0, count);
  return picked.length ? picked : ranked;
}

/**
 * Cores a replicant passes over for a while: one it could not link to or whose link it lost to
 * unanswered pings (from here; the cores judge each other), and one that refused it as full.
 */
export class CoreTrouble {
  private readonly until = new Map<string, number>();
  private readonly full = new Set<string>();

  constructor(
    private readonly forMs: number,
    private readonly now: () => number,
  ) {}

  /** A full core is passed over six times as long: it will be full again next time. */
  note(core: string, kind: 'full' | 'lost' = 'lost'): void {
    this.until.set(core, this.now() + (kind === 'full' ? 6 * this.forMs : this.forMs));
    if (kind === 'full') this.full.add(core);
    else this.full.delete(core);
  }

  /** Whether `core` refused this node as full (it runs: no claim against it). */
  isFull(core: string): boolean {
    return this.has(core) && this.full.has(core);
  }

  clear(core: string): void {
    this.until.delete(core);
    this.full.delete(core);
  }

  has(core: string): boolean {
    const t = this.until.get(core);
    return t !== undefined && t > this.now();
  }

  /** Forgets what expired; true when something did (the choice of cores may change). */
  expire(): boolean {
    let changed = false;
    const now = this.now();
    for (const [core, t] of this.until) {
      if (t <= now) {
        this.until.delete(core);
        this.full.delete(core);
        changed = true;
      }
    }
    return changed;
  }
}
