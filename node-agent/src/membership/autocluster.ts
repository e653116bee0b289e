import type { Logger } from 'pino';
import type { DiscoveredNode, Discovery } from '../discovery/strategy';
import type { PeerError } from '../transport/connection';
import type { ClusterNode } from './cluster';
import type { ClusterInfo, DiscoveryStatus } from './status';
import { pairScore } from './pair-hash';
import { ranksBefore, type Ranked } from './ranking';
import { DEFAULT_TUNING, jittered, type Tuning } from '../tuning';
import { systemRuntime, type Runtime, type Timer } from '../runtime';

interface Candidate extends Ranked {
  cluster_id: string;
  /** The node we would ask to join; undefined for this node's own cluster. */
  via?: string;
}

/**
 * Whether `self`, one of the `running` members of a cluster, is among the `lookers` members (tuning.discovery.lookers) that
 * probe `found` (rendezvous hashing: every member picks the same ones, and the pick moves little
 * as members come and go).
 */
export function looksAt(self: string, found: string, running: readonly string[], lookers = DEFAULT_TUNING.discovery.lookers): boolean {
  if (running.length <= lookers) return true;
  const mine = pairScore(found, self);
  // Stops at the lookers-th member before this one: each round asks this of every found node.
  let before = 0;
  for (const m of running) if (m !== self && pairScore(found, m) < mine && ++before >= lookers) return false;
  return true;
}

/** Runs a discovery strategy at boot and in the background, and joins where the ranking says. */
export class Autocluster {
  private timer?: Timer;
  private delay: number;
  private stopped = false;
  private running = false;
  private lastLogged = new Map<string, string>();
  private readonly status: DiscoveryStatus;
  private readonly startedAt: number;
  /** Found nodes that have answered a probe, and when one did for the first time. */
  private readonly answered = new Set<string>();
  private lastNewAnswerAt: number;
  /** When the found set last changed after the first round (never, with a fixed seed list). */
  private foundChangedAt = 0;
  private foundOnce = false;

  constructor(
    private readonly node: ClusterNode,
    private readonly discovery: Discovery,
    strategy: string,
    private readonly log: Logger,
    private readonly t: Tuning['discovery'] = DEFAULT_TUNING.discovery,
    private readonly rt: Pick<Runtime, 'clock' | 'random'> = systemRuntime,
  ) {
    this.startedAt = this.lastNewAnswerAt = rt.clock.now();
    this.delay = t.retryMinMs;
    this.status = { strategy, found: [] };
    node.discoveryView = () => ({ ...this.status });
    node.events.on('left', async () => {
      // An operator's `cluster leave` is respected until the node restarts or is told to join.
      this.status.paused = 'cluster leave was run: autocluster paused until restart or cluster join';
      this.log.info(this.status.paused);
      await this.discovery.unregister?.();
    });
    // A node alone looks again the moment it is probed by a node smaller than itself and than any
    // node it has seen answer: a node that starts listening probes every node it found at once,
    // and may be the one to join (or lead to its cluster). Waiting for the next round (300 ms at
    // boot) was the last step of most small formations. A node it has seen answer before is no
    // news, and reacting to every smaller prober set lone nodes probing each other in cascades.
    node.events.on('probed', (by) => {
      if (this.running || this.status.paused || node.memberNames().length !== 1 || by >= node.name) return;
      for (const seen of this.answered) if (seen <= by) return;
      this.schedule(0);
    });
    node.events.on('joined', () => {
      if (this.status.paused) this.log.info('autocluster resumed after cluster join');
      this.status.paused = undefined;
    });
  }

  start(): void {
    this.discovery.watch?.(() => {
      if (!this.running && !this.status.paused) this.schedule(50);
    });
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.rt.clock.clearTimeout(this.timer);
    await this.discovery.close?.();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.rt.clock.clearTimeout(this.timer);
    this.timer = this.rt.clock.setTimeout(() => void this.round(), jittered(ms, this.t.jitter, this.rt.random.fraction));
  }

  private retry(): void {
    const fast = this.node.memberNames().length === 1 && this.rt.clock.now() - this.startedAt < this.t.aloneFastPeriodMs;
    this.delay = Math.min(fast ? this.t.aloneRetryMaxMs : this.t.retryMaxMs, this.delay);
    this.schedule(this.delay);
    this.delay = Math.min(this.t.retryMaxMs, this.delay * 2);
  }

  /** Logs a failure once per distinct cause; repeats go to debug. */
  private logOnce(topic: string, message: string, extra: Record<string, unknown> = {}): void {
    if (this.lastLogged.get(topic) === message) {
      this.log.debug(extra, message);
      return;
    }
    this.lastLogged.set(topic, message);
    this.log.warn(extra, message);
  }

  private async round(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      if (this.status.paused) return this.schedule(this.t.steadyMs);
      if (this.discovery.register) {
        try {
          await this.discovery.register();
          this.lastLogged.delete('register');
        } catch (e) {
          this.node.stats.discoveryErrors.inc(this.status.strategy);
          this.logOnce('register', `discovery: ${(e as Error).message}`);
        }
      }
      let found: DiscoveredNode[];
      this.node.stats.discoveryRuns.inc(this.status.strategy);
      try {
        found = await this.discovery.discover();
      } catch (e) {
        this.node.stats.discoveryErrors.inc(this.status.strategy);
        this.status.last_run = new Date(this.rt.clock.now()).toISOString();
        this.status.last_error = (e as Error).message;
        this.logOnce('discover', `discovery attempt failed: ${(e as Error).message}`, { strategy: this.status.strategy });
        return this.retry();
      }
      this.lastLogged.delete('discover');
      this.status.last_run = new Date(this.rt.clock.now()).toISOString();
      this.status.last_error = undefined;
      const names = found.map((n) => n.name).sort();
      if (this.foundOnce && names.join() !== this.status.found.join()) this.foundChangedAt = this.rt.clock.now();
      this.foundOnce = true;
      this.status.found = names;
      for (const n of found) if (n.port) this.node.peers.learnPort(n.name, n.port);
      const outcome = await this.decide(found);
      // Waiting at boot for a smaller-named node that is still starting: look again soon, without
      // backing off, so the cluster forms moments after it listens (a refused connect costs little).
      if (outcome === 'starting') return this.schedule(this.t.retryMinMs);
      if (outcome === 'waiting') return this.retry();
      // After a join, look again soon: the ranking may have moved meanwhile.
      this.delay = this.t.retryMinMs;
      this.schedule(outcome === 'joined' ? this.t.retryMinMs : this.t.steadyMs);
    } catch (e) {
      this.log.error({ err: e }, `discovery round failed unexpectedly: ${(e as Error).message}`);
      this.retry();
    } finally {
      this.running = false;
    }
  }

  /**
   * Probes the found nodes that are not running members here, smallest name first, and joins the
   * first cluster that ranks before this node's own. Returns what the round did.
   */
  private async decide(found: DiscoveredNode[]): Promise<'settled' | 'joined' | 'waiting' | 'starting'> {
    const self = this.node.name;
    const info = this.node.info();
    const running = new Set(info.running);
    const replicant = this.node.role === 'replicant';
    const cores = this.node.coreNames();
    // A replicant whose cores all run here has nothing to look for: no cluster is formed around it.
    if (replicant && cores.length && cores.every((c) => running.has(c))) return 'settled';
    // Probed: everything found that is not running with us. A member that moved to another cluster
    // without us hearing it leave shows as stopped here, so it is probed and found where it went.
    const alone = info.members.length === 1;
    const others = found
      .map((n) => n.name)
      .filter((n) => n !== self && !running.has(n) && (alone || replicant || looksAt(self, n, info.cores ?? info.running)))
      .sort();
    if (!others.length) return info.members.length > 1 || found.some((n) => n.name !== self) ? 'settled' : 'waiting';
    const covered = new Set(running);
    const inStartup = () => this.rt.clock.now() - this.startedAt < this.t.startupWaitMaxMs;
    const smallerStillComing = () => inStartup() && this.rt.clock.now() - this.lastNewAnswerAt < this.t.stableMarginMs;
    const foundUnsettled = () => inStartup() && this.rt.clock.now() - this.foundChangedAt < this.t.foundStableMs;
    let smallestUnreachable: string | undefined;
    let probed = 0;
    for (const name of others) {
      if (covered.has(name)) continue;
      let theirInfo: ClusterInfo;
      // Alone, the first probe of a round (the smallest node found, so nothing smaller to wait
      // for) carries the join: the node asked takes it if this loop would have joined it
      // (membership/join-offer.ts). Later probes ask only: they are mostly of lone nodes, which decline.
      const offer = alone && !replicant && !probed++;
      try {
        const answer = offer ? await this.node.joins.offerJoin(name) : { info: await this.node.inquiry.probe(name) };
        if ('admitted' in answer) return this.joined(name, name, ' (admitted with its probe)');
        if ('failed' in answer) return this.joinFailed(name, answer.failed);
        theirInfo = answer.info;
        this.lastLogged.delete(`probe:${name}`);
        if (!this.answered.has(name)) {
          this.answered.add(name);
          this.lastNewAnswerAt = this.rt.clock.now();
        }
      } catch (e) {
        // An unreachable node, or one with another cookie, is skipped, never fatal.
        smallestUnreachable ??= name;
        this.logOnce(`probe:${name}`, `discovered ${name} but skipped it: ${(e as PeerError).message}`, { peer: name });
        continue;
      }
      for (const m of theirInfo.running) covered.add(m);
      if (theirInfo.cluster_id === info.cluster_id) continue;
      // Clusters rank by their core members; one with no running core (a replicant alone, or one
      // whose cores stopped) is nobody's to join. A found replicant leads to its cluster's cores.
      // An agent from before roles would admit a replicant as a core: replicants need cores that know roles.
      if (replicant && theirInfo.cores === undefined) {
        this.logOnce(`roles:${name}`, `skipped ${name}: its agent does not know node roles (an older version); a replicant joins only cores that do`, { peer: name });
        continue;
      }
      const theirCores = theirInfo.cores ?? theirInfo.running;
      if (!theirCores.length) continue;
      const via = theirCores.includes(name) ? name : [...theirCores].sort()[0];
      const theirs: Candidate = { cluster_id: theirInfo.cluster_id, members: theirCores, via };
      // Our core members, less the nodes that are running over there: those have left us.
      const mine: Candidate = { cluster_id: info.cluster_id, members: cores.filter((m) => !theirInfo.running.includes(m)) };
      if (!ranksBefore(theirs, mine)) continue;
      if (alone && smallestUnreachable && smallerStillComing() && smallestUnreachable < [...theirs.members].sort()[0]) {
        this.log.debug({ waiting_for: smallestUnreachable }, `waiting for ${smallestUnreachable} to answer before joining`);
        return 'starting';
      }
      if (alone && theirs.members.length === 1 && foundUnsettled()) {
        this.log.debug({ found: this.status.found }, 'waiting for the discovered set to settle before pairing with another lone node');
        return 'starting';
      }
      try {
        await this.node.joins.join(via, { keepData: true, why: 'autocluster' });
        return this.joined(via, name);
      } catch (e) {
        return this.joinFailed(via, e as Error);
      }
    }
    return 'waiting';
  }

  /** A join this round made through `via`, found by probing `probed`; `how` it was made, if not asked after the probe. */
  private joined(via: string, probed: string, how = ''): 'joined' {
    const what = via === probed ? 'smallest reachable member' : `a core of ${probed}'s cluster`;
    this.log.info({ target: via, discovered: this.status.found }, `joined ${via}: ${what} of the best-ranked cluster in the discovered set {${this.status.found.join(', ')}}${how}`);
    return 'joined';
  }

  /** A join through `via` that failed: logged once per cause, and looked at again after a back-off. */
  private joinFailed(via: string, err: Error): 'waiting' {
    this.logOnce(`join:${via}`, `could not join ${via}: ${err.message}`, { peer: via });
    return 'waiting';
  }
}
