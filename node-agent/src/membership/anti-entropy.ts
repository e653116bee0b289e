import type { Connection } from '../transport/connection';
import type { Clock, Random, Timer } from '../runtime';
import { jittered, type Tuning } from '../tuning';

/**
 * Anti-entropy: every `intervalMs` this node offers its state's digest on one of its links, in
 * turn, and the usual sync (cluster.ts `exchange`) repairs any difference both ways. A change is
 * spread once (membership/flood.ts), and a member that missed it on a link that stayed up used to
 * wait for a new link to sync; now it has it within one interval of any neighbour holding it. When
 * the states agree the exchange is two small frames (the digest and its echo), about 320 bytes a
 * node per interval, 19 B/s at the default 17 s (tuning.ts): the cost of an idle cluster's repairs.
 */
export class AntiEntropy {
  private timer?: Timer;
  private cursor = '';

  constructor(
    private readonly links: () => Connection[],
    private readonly exchange: (conn: Connection) => void,
    private readonly t: Tuning['sync'],
    private readonly clock: Clock,
    private readonly random: Random,
  ) {}

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    this.timer = this.clock.setTimeout(() => {
      this.round();
      this.schedule();
    }, jittered(this.t.antiEntropyIntervalMs, this.t.antiEntropyJitter, this.random.fraction));
    this.timer.unref();
  }

  /** The next link after the last one used, in name order: every link in turn, whatever changes. */
  private round(): void {
    const links = this.links().sort((a, b) => (a.peerName < b.peerName ? -1 : 1));
    if (!links.length) return;
    const next = links.find((c) => c.peerName > this.cursor) ?? links[0];
    this.cursor = next.peerName;
    this.exchange(next);
  }
}
