/** A cluster as the ranking sees it: its running core members. */
export interface Ranked {
  members: readonly string[];
}

/**
 * The order in which clusters attract each other: a cluster of several members before a single
 * node (so a newcomer never drags a formed cluster to itself), then the smallest member name.
 * Every node applies the same order to the same facts, and a node only ever moves to a cluster
 * that ranks strictly before its own, so nodes started together end in one cluster, never islands.
 */
export function ranksBefore(a: Ranked, b: Ranked): boolean {
  // `members` are core members: a cluster without one (a replicant alone) ranks after any with one.
  if (!b.members.length) return a.members.length > 0;
  if (!a.members.length) return false;
  const single = (c: Ranked) => (c.members.length > 1 ? 0 : 1);
  if (single(a) !== single(b)) return single(a) < single(b);
  const min = (c: Ranked) => [...c.members].sort()[0] ?? '';
  return min(a) < min(b);
}
