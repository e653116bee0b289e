/**
 * Which members a node keeps links to. A full mesh costs every node N - 1 handshakes and links
 * (4,950 links at N = 100, about 10 ms of CPU each to set up here): forming a cluster was bound
 * by it. Instead the members, in name order, form a ring, and each node links to the STEPS
 * nearest members on either side that are not known to be down. The links change little as
 * members come and go (a joiner makes up to 2 x STEPS new ones), changes spread over them in a
 * few hops (membership/flood.ts), and probes follow them (membership/prober.ts).
 *
 * Members known to be down that lie between are kept too, so that their return is noticed from
 * both sides of a partition. Up to 2 x STEPS + 1 members this is the full mesh.
 */
export const STEPS = 3;

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
 * The members `self` keeps links to: its own neighbours and the members that count it among
 * theirs, so that both ends of every link want it (a link wanted by one end only would be closed
 * by the other and redialled, again and again).
 */
export function neighbours(self: string, members: readonly string[], notDown: (m: string) => boolean, steps = STEPS): Set<string> {
  const ring = [...new Set([self, ...members])].sort();
  const at = ring.indexOf(self);
  const out = new Set(around(at, ring, notDown, steps));
  if (ring.length > 2 * steps + 1) {
    ring.forEach((m, i) => {
      if (i !== at && !out.has(m) && around(i, ring, notDown, steps).includes(self)) out.add(m);
    });
  }
  out.delete(self);
  return out;
}
