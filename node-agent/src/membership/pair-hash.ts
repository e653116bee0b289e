/**
 * A hash of two member names that every node computes alike and that does not depend on their
 * order: what lets members agree on a choice about a pair (a shortcut link, who looks at a
 * newcomer) without a word, and keeps the choice stable as other members come and go.
 */

/** FNV-1a of a name, then murmur3's 32-bit finaliser so that names differing in one digit spread. */
function nameHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return mix(h >>> 0);
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
