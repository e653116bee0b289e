/**
 * A hash of two member names that every node computes alike and that does not depend on their
 * order: what lets members agree on a choice about a pair (a shortcut link, who looks at a
 * newcomer) without a word, and keeps the choice stable as other members come and go.
 */

/**
 * Hashes of the names seen, kept: a node scores every member against itself and against each
 * newcomer at every change of the member list, and hashing the names again each time took about 5 %
 * of an agent's CPU while 100 nodes formed. Bounded in case names come and go for a long time.
 */
const hashes = new Map<string, number>();
const MAX_KEPT = 10_000;

/** FNV-1a of a name, then murmur3's 32-bit finaliser so that names differing in one digit spread. */
function nameHash(s: string): number {
  const kept = hashes.get(s);
  if (kept !== undefined) return kept;
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h = mix(h >>> 0);
  if (hashes.size >= MAX_KEPT) hashes.clear();
  hashes.set(s, h);
  return h;
}

function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Uniform in [0, 1), and pairScore(a, b) === pairScore(b, a). */
export function pairScore(a: string, b: string): number {
  const x = nameHash(a);
  const y = nameHash(b);
  return mix((x ^ mix(y)) + (y ^ mix(x))) / 2 ** 32;
}
