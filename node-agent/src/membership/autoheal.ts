import type { Timer } from '../runtime';
import type { ClusterNode } from './cluster';

/**
 * Autoheal's part after autoclean (ekka_autoheal's rejoin): a node that autoclean removed while it
 * was cut off asks its former cluster to take it back, keeping the writes it took meanwhile, with
 * growing waits between rounds (tuning.autoheal). Keeping members apart after a partition, and
 * which side rejoins, is partitions.ts.
 */
export class AutohealRejoin {
  /** Set by stop(): the rejoin loop ends. */
  private stopping = false;
  private wait?: Timer;

  constructor(private readonly n: ClusterNode) {}

  stop(): void {
    this.stopping = true;
    this.n.rt.clock.clearTimeout(this.wait);
  }

  async rejoin(by: string | undefined, formerMembers: string[]): Promise<void> {
    const n = this.n;
    const targets = [...new Set([by, ...formerMembers].filter((m): m is string => !!m && m !== n.name))];
    const { rejoinAttempts, rejoinBackoffMinMs, rejoinBackoffMaxMs } = n.tuning.autoheal;
    for (let attempt = 0; attempt < rejoinAttempts && !this.stopping; attempt++) {
      for (const t of targets) {
        if (this.stopping) return;
        try {
          await n.joins.join(t, { keepData: true, why: 'autoheal: autoclean removed this node while it was cut off' });
          return;
        } catch (e) {
          // join() logged why; the next target, then a longer wait.
          n.log.debug({ target: t, attempt, err: (e as Error).message }, `autoheal: rejoining through ${t} failed`);
        }
      }
      await new Promise<void>((r) => {
        this.wait = n.rt.clock.setTimeout(r, Math.min(rejoinBackoffMaxMs, rejoinBackoffMinMs * 2 ** attempt));
      });
      this.wait = undefined;
      if (n.memberNames().length > 1) return;
    }
    if (this.stopping) return;
    n.log.warn({ targets }, 'autoheal: could not rejoin the former cluster; run cluster join to bring this node back');
  }
}
