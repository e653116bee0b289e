import type { Logger } from 'pino';
import { systemClock, type Clock } from '../runtime/clock';

/**
 * Members added and members seen coming up are logged at the end of the turn, together: a join
 * reaches every member with the new member's entry and its liveness record, and logging them apart
 * made two lines per join on every member (20,000 while 100 nodes formed, each one CPU that a
 * forming cluster is short of, and read by whoever collects the logs). Past `bulk` nodes at once,
 * one line names them all.
 */
export class NodeLog {
  private readonly added = new Set<string>();
  private readonly running = new Set<string>();
  private queued = false;

  constructor(
    private readonly log: Logger,
    private readonly bulk: number,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Nodes to log as added to the member list, or as running again, at the end of this turn. */
  note(added: readonly string[], running: readonly string[]): void {
    if (!added.length && !running.length) return;
    for (const n of added) this.added.add(n);
    for (const n of running) this.running.add(n);
    if (this.queued) return;
    this.queued = true;
    this.clock.setImmediate(() => this.flush());
  }

  /** Logs what is held; called too before a node is logged stopped or removed, so the lines keep their order. */
  flush(): void {
    this.queued = false;
    const both = [...this.added].filter((n) => this.running.has(n));
    for (const n of both) {
      this.added.delete(n);
      this.running.delete(n);
    }
    const added = [...this.added];
    const running = [...this.running];
    this.added.clear();
    this.running.clear();
    this.lines(both, 'is a member of the cluster, running', 'are members of the cluster, running');
    this.lines(added, 'is a member of the cluster', 'are members of the cluster');
    this.lines(running, 'is running', 'are running');
  }

  /** One line per node (`X is ...`), or past `bulk` one line naming them all (`N nodes are ...`). */
  private lines(nodes: string[], one: string, many: string): void {
    if (nodes.length > this.bulk) this.log.info({ peers: nodes }, `${nodes.length} nodes ${many}: ${nodes.join(', ')}`);
    else for (const peer of nodes) this.log.info({ peer }, `${peer} ${one}`);
  }
}
