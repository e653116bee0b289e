/**
 * The rules for members that stop answering, kept apart from the mechanics so they can be read
 * and tested on their own.
 */

/**
 * Autoclean may remove stopped members only from the side of a split that can see a strict
 * majority of the member list, or exactly half when that half holds the smallest member name.
 * So two sides of a partition never remove each other: only one side cleans, and the nodes it
 * cleaned learn so when the partition ends (they rejoin with autoheal, or stay out and say why).
 * In a 2-node cluster this lets the smaller-named survivor clean a dead peer.
 */
export function mayAutoclean(members: readonly string[], running: readonly string[]): boolean {
  if (members.length === 0) return false;
  if (running.length * 2 > members.length) return true;
  return running.length * 2 === members.length && running.includes([...members].sort()[0]);
}

/** How a member link went down, remembered to tell a partition from a restart when it returns. */
export interface LinkLoss {
  boot: string;
  orderly: boolean;
  at: number;
}

/**
 * A member that comes back with the same process (boot id) after its link was lost without an
 * orderly stop was cut off, not restarted: that is a partition.
 */
export function wasPartition(loss: LinkLoss | undefined, boot: string): boolean {
  return !!loss && !loss.orderly && loss.boot === boot;
}

/**
 * How long a silently dead member takes to show stopped, for status: until someone probes it
 * (about one interval), its probe timing out, then the members' own checks timing out.
 */
export function detectionBoundMs(probeIntervalMs: number, probeTimeoutMs: number): number {
  return probeIntervalMs + 2 * probeTimeoutMs;
}

export interface TombstoneInfo {
  /** Local time the tombstone arrived. */
  arrived: number;
  /** Members known to hold it. */
  seenBy: ReadonlySet<string>;
}

/**
 * Tombstones that can go: every other current member is known to hold each, and each is older
 * than `minAgeMs`, so no member can bring the deleted value back.
 */
export function collectableTombstones(tombstones: ReadonlyMap<string, TombstoneInfo>, others: readonly string[], now: number, minAgeMs: number): string[] {
  const out: string[] = [];
  for (const [key, t] of tombstones) if (now - t.arrived >= minAgeMs && others.every((m) => t.seenBy.has(m))) out.push(key);
  return out;
}
