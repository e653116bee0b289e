import { gossipReplySchema, type GossipBody } from '../transport/messages';
import { encodeCast, type Connection } from '../transport/connection';
import { DEFAULT_TUNING, type Tuning } from '../tuning';
import { systemRuntime, type Runtime } from '../runtime';


/**
 * Spreads a change over the member links: the origin sends it on every link it has, and each
 * member that sees it for the first time applies it and passes it on its own other links. Every
 * member is reached over several paths (a link failing mid-way costs nothing), and the answers
 * come back along the paths that reached a member first, each naming every member reached through
 * it, so the origin learns who holds the change as it did with a message to every member. News
 * nobody waits for goes the same way, one way (`cast`).
 */
export class Flood {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly t: Tuning['gossip'] = DEFAULT_TUNING.gossip,
    private readonly rt: Pick<Runtime, 'clock' | 'random'> = systemRuntime,
  ) {}

  newId(): string {
    const id = this.rt.random.hex(8);
    this.seen.set(id, this.rt.clock.now());
    return id;
  }

  /** Whether an id was seen before: a change seen again is neither checked nor applied again. */
  seenBefore(id: string): boolean {
    return this.seen.has(id);
  }

  /** Marks an id seen; the caller applies and passes on the change only the first time. */
  markSeen(id: string): void {
    this.seen.set(id, this.rt.clock.now());
  }

  /**
   * News nobody waits for (a member that misses it learns it at its next sync): sent one way, it
   * costs each link one frame instead of two, and no timer.
   */
  cast(links: Connection[], body: GossipBody): void {
    if (!links.length) return;
    const frame = encodeCast('gossip', body);
    for (const c of links) c.sendFrame(frame, 'gossip');
  }

  /** Sends `body` on `links` and returns the members reached through them. */
  async spread(links: Connection[], body: GossipBody): Promise<{ reached: Set<string>; unanswered: string[] }> {
    const next: GossipBody = { ...body, budget_ms: Math.max(this.t.minHopBudgetMs, body.budget_ms - this.t.hopMarginMs) };
    const reached = new Set<string>();
    const unanswered: string[] = [];
    await Promise.all(
      links.map(async (c) => {
        try {
          const reply = gossipReplySchema.safeParse(await c.request('gossip', next, body.budget_ms));
          if (reply.success) for (const m of reply.data.acked) reached.add(m);
          else unanswered.push(c.peerName);
        } catch {
          unanswered.push(c.peerName);
        }
      }),
    );
    return { reached, unanswered };
  }

  prune(now = this.rt.clock.now()): void {
    for (const [id, at] of this.seen) if (now - at > this.t.seenTtlMs) this.seen.delete(id);
  }
}
