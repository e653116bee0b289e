import type { Logger } from 'pino';
import { formatDuration } from '../config/duration';
import { wasPartition, type LinkLoss } from './failure-policy';
import { systemClock, type Clock } from '../runtime/clock';
import type { Stats } from '../observe/stats';

/** A member that came back without having restarted: a partition ended (healed, or kept apart). */
export interface Partition {
  node: string;
  /** When the member came back without having restarted. */
  seen_at: string;
  healed: boolean;
}

/**
 * What this node remembers of its members' absences, for autoheal and autoclean (as ekka's
 * ekka_autoheal): since when each is down, the last loss it saw itself, and the partitions that
 * ended. With autoheal a member back with the same process after a loss is a healed partition
 * (logged); without, that member is kept apart until one side restarts. `onApartChanged`: the set
 * of members kept apart changed, so the links to keep did too.
 */
export class Partitions {
  private readonly downSince = new Map<string, number>();
  private readonly lastLoss = new Map<string, LinkLoss>();
  private readonly ended = new Map<string, Partition & { boot: string }>();

  constructor(
    private readonly autoheal: boolean,
    private readonly log: Logger,
    private readonly onApartChanged: () => void,
    private readonly clock: Clock = systemClock,
    private readonly stats?: Stats,
  ) {}

  /** Members restored from disk count as down from the start until they are heard from. */
  startedWith(others: readonly string[], now = this.clock.now()): void {
    for (const m of others) this.downSince.set(m, now);
  }

  /** `node` went down; `seenHere`: this node lost it itself (only such a loss can make a partition). */
  wentDown(node: string, boot: string, orderly: boolean, seenHere: boolean, now = this.clock.now()): void {
    this.downSince.set(node, now);
    // A claim heard by gossip that its subject then refutes would otherwise split every member from it at once.
    if (seenHere) this.lastLoss.set(node, { boot, orderly, at: now });
  }

  /** `node` came back: after a loss without an orderly stop, with the same process, a partition ended. */
  cameBack(node: string, boot: string): void {
    this.downSince.delete(node);
    const loss = this.lastLoss.get(node);
    if (!wasPartition(loss, boot)) {
      this.lastLoss.delete(node);
      return;
    }
    if (!this.autoheal) return this.keepApart(node, boot);
    this.lastLoss.delete(node);
    const now = this.clock.now();
    this.ended.set(node, { node, seen_at: new Date(now).toISOString(), healed: true, boot });
    this.stats?.partitionEnded(node, true);
    this.log.warn({ peer: node, down_ms: now - loss!.at }, `partition with ${node} ended after ${formatDuration(now - loss!.at)}: healed (autoheal), state merged, last writer wins`);
  }

  /** Whether `node` is kept apart (autoheal off): not linked to, not shown running. */
  isApart(node: string): boolean {
    return this.ended.get(node)?.healed === false;
  }

  /**
   * Whether a link from `node` (process `boot`) is refused: a member kept apart with the same
   * process, or one back with the same process after a loss, with autoheal off. A restarted member
   * (new boot id) is let back in.
   */
  refuses(node: string, boot: string): boolean {
    const known = this.ended.get(node);
    if (known && !known.healed) {
      if (known.boot === boot) return true;
      this.ended.delete(node);
      this.log.info({ peer: node }, `${node} restarted: the partition kept apart is over`);
      this.onApartChanged();
      return false;
    }
    if (this.autoheal || !wasPartition(this.lastLoss.get(node), boot)) return false;
    this.keepApart(node, boot);
    return true;
  }

  /** Keeps `node` apart from now on (it, or this side, saw the partition end with autoheal off). */
  keepApart(node: string, boot: string): void {
    if (this.isApart(node)) return;
    this.ended.set(node, { node, seen_at: new Date(this.clock.now()).toISOString(), healed: false, boot });
    this.stats?.partitionEnded(node, false);
    this.log.warn({ peer: node }, `partition with ${node} ended, but autoheal = false: keeping it apart; restart the nodes of one side to reunite`);
    this.onApartChanged();
  }

  /** The stopped members down for at least `afterMs` (autoclean's candidates). */
  downFor(stopped: readonly string[], afterMs: number, now = this.clock.now()): string[] {
    return stopped.filter((m) => now - (this.downSince.get(m) ?? now) >= afterMs);
  }

  /** `node` is no longer a member. */
  removed(node: string): void {
    this.downSince.delete(node);
    this.ended.delete(node);
  }

  /** This node changed cluster: what it remembered is about another cluster. */
  clear(): void {
    this.ended.clear();
    this.downSince.clear();
    this.lastLoss.clear();
  }

  list(): Partition[] {
    return [...this.ended.values()].map(({ node, seen_at, healed }) => ({ node, seen_at, healed })).sort((a, b) => (a.node < b.node ? -1 : 1));
  }
}
