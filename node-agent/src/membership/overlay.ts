import { pairScore } from './pair-hash';
import { DEFAULT_TUNING } from '../tuning';

/**
 * Which members a node keeps links to. A full mesh costs every node N - 1 handshakes and links
 * (4,950 links at N = 100, about 10 ms of CPU each to set up here): forming a cluster was bound
 * by it. Instead the members, in name order, form a ring, and each node links to the STEPS
 * nearest members on either side that are not known to be down. The links change little as
 * members come and go (a joiner makes up to 2 x STEPS new ones), changes spread over them
 * (membership/flood.ts), and probes follow them (membership/prober.ts).
 *
 * A ring alone is N / (2 x STEPS) hops across (17 at N = 100), and news crossed it hop by hop: a
 * crash took 0.6-0.9 s to reach every member of 100. So each pair of members is also linked, with
 * probability SHORTCUTS / (N - 1), by a shortcut, as in a small-world network: about SHORTCUTS
 * more links per member, and 4 hops across at N = 100 (3 at N = 30). Whether a pair is linked is
 * a hash of the two names, so both ends and every member agree without a word, and a joiner
 * moves few shortcuts (about SHORTCUTS / 2 per join fall below the lower threshold).
 *
 * Members known to be down that lie between are kept too, so that their return is noticed from
 * both sides of a partition. Up to 2 x STEPS + 1 members this is the full mesh.
 */
export const STEPS = DEFAULT_TUNING.overlay.steps;
export const SHORTCUTS = DEFAULT_TUNING.overlay.shortcuts;

/** Whether members `a` and `b` of a cluster of `n` are linked by a shortcut. */
export function shortcut(a: string, b: string, n: number): boolean {
  return pairScore(a, b) < SHORTCUTS / (n - 1);
}

/** The members `self` reaches walking the ring in one direction until `steps` of them are not down. */
function walk(at: number, ring: readonly string[], notDown: (m: string) => boolean, dir: 1 | -1, steps: number): string[] {
  const out: string[] = [];
  const n = ring.length;
  let counted = 0;
  for (let i = 1; i < n && counted < steps; i++) {
    const m = ring[(((at + dir * i) % n) + n) % n];
    out.push(m);
    if (notDown(m)) counted++;
  }
  return out;
}

function around(at: number, ring: readonly string[], notDown: (m: string) => boolean, steps: number): string[] {
  return [...walk(at, ring, notDown, 1, steps), ...walk(at, ring, notDown, -1, steps)];
}

/**
 * The members `self` keeps links to: its own ring neighbours and its shortcuts to members not known
 * to be down. Both ends of every ring link want it (a link wanted by one end only would be closed
 * by the other and redialled, again and again): `m` is on this node's walk exactly when this node
 * is on m's walk back, since both walks pass the same members in between. So this node's own walks
 * are the whole answer; walking from every member to check (as until 2026-11-26) gave the same
 * set, and with the name hashes was about a tenth of an agent's CPU while 100 nodes formed.
 */
export function neighbours(self: string, members: readonly string[], notDown: (m: string) => boolean, steps = STEPS): Set<string> {
  const ring = [...new Set([self, ...members])].sort();
  const at = ring.indexOf(self);
  const out = new Set(around(at, ring, notDown, steps));
  if (ring.length > 2 * steps + 1) {
    for (const m of ring) if (m !== self && !out.has(m) && notDown(m) && shortcut(self, m, ring.length)) out.add(m);
  }
  out.delete(self);
  return out;
}
