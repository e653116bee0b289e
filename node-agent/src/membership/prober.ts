import type { Logger } from 'pino';
import type { Connection } from '../transport/connection';
import type { PeerManager } from './peers';

export interface ProberOptions {
  /** One probe of one member per interval. */
  intervalMs: number;
  /** How long a probe may go unanswered. Covers GC pauses, CPU starvation and 1 s stalls. */
  timeoutMs: number;
}

/**
 * Failure detection with a cost that does not grow with the cluster: every interval this node
 * pings ONE member (round robin over a shuffled order) over its existing link. A member that does
 * not answer within the timeout is suspected: the prober tells every member, and each of them
 * (the prober too) checks it with a direct ping of its own; a member that still does not answer
 * is shown stopped there (its link is closed and redialled, so it returns to running by itself).
 * A crashed process needs none of this: its TCP links close at once.
 *
 * Idle cost per node: about 2 pings and 2 answers per interval whatever N is (vs 2(N-1) frames
 * for all-to-all heartbeats).
 */
export class Prober {
  private timer?: NodeJS.Timeout;
  private order: string[] = [];
  private readonly checking = new Set<string>();

  constructor(private readonly peers: PeerManager, private readonly o: ProberOptions, private readonly log: Logger) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.o.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private next(): string | undefined {
    if (!this.order.length) {
      this.order = this.peers.upPeers();
      for (let i = this.order.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [this.order[i], this.order[j]] = [this.order[j], this.order[i]];
      }
    }
    while (this.order.length) {
      const p = this.order.shift()!;
      if (this.peers.isUp(p)) return p;
    }
    return undefined;
  }

  private async tick(): Promise<void> {
    const peer = this.next();
    if (!peer || this.checking.has(peer)) return;
    const conn = this.peers.link(peer);
    if (!conn || (await this.ping(conn))) return;
    if (conn.isClosed) return;
    this.log.info({ peer }, `${peer} did not answer a probe within ${this.o.timeoutMs}ms: asking every member to check it`);
    for (const other of this.peers.upLinks()) if (other !== conn) other.request('suspect', { node: peer }, this.o.timeoutMs * 2).catch(() => undefined);
    await this.confirm(peer, 'this node');
  }

  /** A member suspects `peer`: check it directly; no answer shows it stopped here. */
  async confirm(peer: string, suspectedBy: string): Promise<void> {
    const conn = this.peers.link(peer);
    if (!conn || this.checking.has(peer)) return;
    this.checking.add(peer);
    try {
      if (await this.ping(conn)) return;
      conn.close(`no answer to probes for ${2 * this.o.timeoutMs}ms (suspected by ${suspectedBy})`);
    } finally {
      this.checking.delete(peer);
    }
  }

  /**
   * True when the peer answers in time. A timer that fires late means this process itself stalled;
   * the answer may be waiting unread, so it gets one more short grace before the peer is blamed.
   */
  private ping(conn: Connection): Promise<boolean> {
    return new Promise((resolve) => {
      let settled = false;
      const done = (ok: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(ok);
      };
      conn.request('ping', {}, this.o.timeoutMs * 4).then(
        () => done(true),
        () => done(false),
      );
      const deadline = Date.now() + this.o.timeoutMs;
      const check = () => {
        const late = Date.now() - deadline;
        if (late > 100) timer = setTimeout(() => done(false), 200);
        else done(false);
      };
      let timer = setTimeout(check, this.o.timeoutMs);
    });
  }
}
