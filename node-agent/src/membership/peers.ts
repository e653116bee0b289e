import type { Logger } from 'pino';
import { Connection, PeerError } from '../transport/connection';
import type { HostResolver } from '../transport/address';
import type { TlsMaterial } from '../transport/tls';
import { parseNodeName } from '../config/node-name';
import { DEFAULT_TUNING, jittered, type Tuning } from '../tuning';
import { systemRuntime, type Runtime, type Timer } from '../runtime';
import type { Stats } from '../observe/stats';

export interface PeerManagerOptions {
  self: string;
  cookie: string;
  boot: string;
  port: number;
  /** cluster.name, agreed on in every handshake. */
  clusterName: string;
  resolver: HostResolver;
  /** Mutual TLS for every link (inet_tls, inet6_tls). */
  tls?: TlsMaterial;
  /** This node's own address, used as the source of outgoing links. */
  localAddress?: string;
  log: Logger;
  /** Where the links' frames are counted (`/metrics`). */
  stats?: Stats;
  /** Called with each newly kept link; the dialer side runs the state sync on it. */
  onLink: (conn: Connection) => void;
  /**
   * Called when a peer that was up has no link any more, or stopped answering; `conn` is its link.
   * `neighbour`: the link was one this node keeps (not one kept only until it is closed as unneeded).
   * `probed`: the prober's verdict (unanswered probes), not a link that closed.
   */
  onDown: (peer: string, reason: string, conn: Connection, neighbour: boolean, probed: boolean) => void;
  /**
   * Called when a neighbour could not be linked: a dial failed, or a link closed before its first
   * sync. Its other members may still show it running, having heard so by gossip.
   */
  onUnreachable: (peer: string, reason: string, code?: PeerError['code'], errno?: string) => void;
  /**
   * How long a member link's handshake may wait for the peer's answers: as long as a probe of a
   * linked member may go unanswered (2 x probe_timeout, stretched while this process stalls). A
   * member frozen before any link to it came up answers no handshake, and with the transport's
   * 10 s it was found stopped only then (docs/decisions/0006). @default the transport's
   */
  handshakeTimeoutMs?: () => number;
  /**
   * Whether this process stalled lately (local-health.ts): its suspicions may be its own fault, and
   * it dials no suspended peer afresh (heal dials). @default never
   */
  stalled?: () => boolean;
  /** Called as a dial starts: this node's stalls matter while links are being made (stall-watch.ts). @default nothing */
  onDialing?: (peer: string) => void;
  /**
   * Peers whose links this node keeps without wanting to dial them: on a core, the replicants that
   * chose it (membership/roles.ts). Their links are never closed as unneeded, and their loss counts
   * as a neighbour's. @default none
   */
  keeps?: (peer: string) => boolean;
  /**
   * Peers the member list holds as removed (they left, or were made to): their links are closed at
   * once. A link from a peer this node does not know at all stays through its first sync, which may
   * list it: this node restarted from a state saved before that peer joined. @default none
   */
  isRemoved?: (peer: string) => boolean;
  /** Called when a suspended peer answered after all, on the same link: the state is to be synced again. */
  onRevive: (conn: Connection) => void;
  /** Timings and sizes of links (tuning.ts). @default DEFAULT_TUNING.links */
  tuning?: Tuning['links'];
  /** Time, network and randomness (runtime/). @default the system's */
  runtime?: Runtime;
}


/** A suspended peer's heal dials (`PeerManager.startHealing`): until when, the next one's time to connect, which is also their pace, and when the last one started. */
interface HealDials {
  until: number;
  connectMs: number;
  dialledAt: number;
}

/**
 * Keeps exactly one authenticated link to every wanted peer (the neighbours, membership/overlay.ts): dials with jittered backoff,
 * resolves simultaneous dials deterministically, and reports peers going up and down.
 */
export class PeerManager {
  private readonly links = new Map<string, Connection>();
  private readonly up = new Set<string>();
  /** Links kept while their peer does not answer probes, for a late answer (see `suspend`). */
  private readonly suspended = new Set<Connection>();
  private wanted = new Set<string>();
  private members = new Set<string>();
  /** Links to members that are not neighbours, and since when: closed after a grace. */
  private readonly unneededSince = new Map<string, number>();
  private readonly dialing = new Set<string>();
  /** Peers waiting for a dial slot, in order. */
  private readonly dialQueue = new Set<string>();
  private readonly retry = new Map<string, { delay: number; timer?: Timer; lastError?: string }>();
  /** Suspended peers dialled afresh (heal dials): until when, and each dial's time to connect, which is also their pace. */
  private readonly healing = new Map<string, HealDials>();
  /** Ports learned for peers (SRV records, Kubernetes endpoints); the others listen on cluster.port. */
  private readonly ports = new Map<string, number>();
  private stopped = false;

  private readonly t: Tuning['links'];
  private readonly rt: Runtime;

  constructor(private readonly o: PeerManagerOptions) {
    this.t = o.tuning ?? DEFAULT_TUNING.links;
    this.rt = o.runtime ?? systemRuntime;
  }

  /** Outgoing links leave from this node's own address, known once it listens. */
  /** A found node listens on `port` (discovery learned it), not on cluster.port. */
  learnPort(peer: string, port: number): void {
    this.ports.set(peer, port);
  }

  portOf(peer: string): number {
    return this.ports.get(peer) ?? this.o.port;
  }

  setLocalAddress(address: string): void {
    this.o.localAddress = address;
  }

  /** Whether this node keeps a link to `peer`: it wants one, or keeps the one the peer dialled (`keeps`). */
  private keepsLink(peer: string): boolean {
    return this.wanted.has(peer) || (this.o.keeps?.(peer) ?? false);
  }

  /** Whether this node wants a link to `peer` (it dials it). */
  wants(peer: string): boolean {
    return this.wanted.has(peer);
  }

  /** How many links this node has to peers that `which` picks. */
  linkCount(which: (peer: string) => boolean): number {
    let n = 0;
    for (const peer of this.links.keys()) if (which(peer)) n++;
    return n;
  }

  isUp(peer: string): boolean {
    return this.up.has(peer);
  }

  link(peer: string): Connection | undefined {
    return this.links.get(peer);
  }

  /** Every link kept, up or still in its first sync. */
  allLinks(): Connection[] {
    return [...this.links.values()];
  }

  /** The links that completed their sync: where broadcasts go. */
  upLinks(): Connection[] {
    return [...this.up].map((p) => this.links.get(p)).filter((c): c is Connection => !!c);
  }

  /**
   * Sets the peers to be linked to (`neighbours`) and the members: dials the missing neighbours,
   * closes links to non-members at once and links to other members after a grace (`sweep`).
   */
  setWanted(neighbours: Iterable<string>, members: Iterable<string> = neighbours): void {
    this.wanted = new Set([...neighbours].filter((p) => p !== this.o.self));
    this.members = new Set(members);
    for (const [peer, conn] of this.links) {
      if (!this.members.has(peer)) {
        if (this.up.has(peer) || this.o.isRemoved?.(peer)) conn.dismiss('no longer a member');
      } else if (this.keepsLink(peer)) this.unneededSince.delete(peer);
      else if (!this.unneededSince.has(peer)) this.unneededSince.set(peer, this.rt.clock.now());
    }
    for (const peer of this.healing.keys()) if (!this.wanted.has(peer)) this.healing.delete(peer);
    for (const [peer, r] of this.retry) {
      if (!this.wanted.has(peer)) {
        this.rt.clock.clearTimeout(r.timer);
        this.retry.delete(peer);
      }
    }
    for (const peer of this.dialQueue) if (!this.wanted.has(peer)) this.dialQueue.delete(peer);
    for (const peer of this.wanted) {
      if (this.links.has(peer) || this.dialing.has(peer) || this.dialQueue.has(peer) || this.retry.get(peer)?.timer) continue;
      // Of two nodes that learn of each other together, the smaller name dials and the other waits
      // a moment for it: one handshake per pair instead of two crossing ones (half the work of a
      // forming cluster). A link lost later is redialled by both sides, for the quickest heal.
      if (this.o.self < peer) this.requestDial(peer);
      else this.defer(peer);
    }
  }

  /** Closes the links that have not been wanted for a grace period. */
  sweep(now = this.rt.clock.now()): void {
    for (const [peer, since] of this.unneededSince) {
      const conn = this.links.get(peer);
      if (!conn || this.keepsLink(peer)) this.unneededSince.delete(peer);
      else if (now - since >= this.t.unneededGraceMs) {
        this.unneededSince.delete(peer);
        conn.dismiss('not a neighbour any more');
      }
    }
  }

  private defer(peer: string): void {
    const r = { delay: this.t.backoffMinMs / 2, timer: undefined as Timer | undefined };
    r.timer = this.rt.clock.setTimeout(() => {
      r.timer = undefined;
      if (this.wanted.has(peer) && !this.links.has(peer) && !this.dialing.has(peer)) this.requestDial(peer);
    }, jittered(this.t.dialDeferMs, this.t.jitter, this.rt.random.fraction));
    r.timer.unref();
    this.retry.set(peer, r);
  }

  /**
   * The peer stopped answering probes: it shows stopped at once, but its link is kept for `keepMs`
   * in case the answers are only late (a machine short of CPU). An answer in that time brings it
   * back on the same link, with a state sync but no new handshake; otherwise the link is closed and
   * redialled as after any loss. Closing at once would make a starved machine redial every link it
   * doubted, a handshake each, which starves it further. Meanwhile the peer may be dialled afresh
   * (`startHealing`).
   */
  suspend(conn: Connection, reason: string, keepMs: number): void {
    const peer = conn.peerName;
    if (this.links.get(peer) !== conn || conn.isClosed || !this.up.delete(peer)) return;
    this.suspended.add(conn);
    this.o.onDown(peer, reason, conn, this.keepsLink(peer), true);
    this.startHealing(conn);
    conn.request('ping', {}, keepMs).then(
      () => {
        if (this.suspended.delete(conn) && this.links.get(peer) === conn && !conn.isClosed) this.o.onRevive(conn);
      },
      () => {
        if (this.suspended.has(conn)) conn.dismiss(reason);
      },
    );
  }

  /**
   * Heal dials: after a partition the kept link carries anything again only at TCP's next
   * retransmission, whose timeout doubled through the cut (up to the cut's own length after it
   * ends), while a fresh SYN goes through at once. So the suspended peer is dialled afresh, one
   * dial in flight, each given `connectMs` to connect (one SYN: 4 of the kept link's shortest
   * round trips, at least `healDialMs`; a quarter more after each that timed out, up to
   * `healDialMaxMs`, should the path come back slower than it was) and started that far apart, for `healDialForMs`, and the first that links
   * replaces the kept link. They stop as soon as a connect says the path is open (a refusal, or a
   * handshake that fails: a process gone or frozen, a starved one, which the kept link and the
   * usual backoff serve), when the peer is back, or when it is no longer wanted; a failed one
   * claims nothing (the suspension did). None when this process stalled lately (the suspicion may
   * be its own fault, and a starved process must not add handshakes). The first starts one
   * interval after the suspension.
   */
  private startHealing(conn: Connection): void {
    const peer = conn.peerName;
    if (!this.wanted.has(peer) || this.stopped || this.t.healDialForMs <= 0) return;
    if (this.o.stalled?.() || conn.minRttMs === undefined) {
      this.o.log.debug({ peer }, `not dialling ${peer} afresh: ${conn.minRttMs === undefined ? 'no round trip measured on its link' : 'this process stalled lately'}`);
      return;
    }
    const now = this.rt.clock.now();
    const connectMs = Math.max(this.t.healDialMs, 4 * conn.minRttMs);
    this.healing.set(peer, { until: now + this.t.healDialForMs, connectMs, dialledAt: now });
    this.o.log.debug({ peer, connect_ms: connectMs }, `dialling ${peer} afresh every ${connectMs} ms while it does not answer (heal dials)`);
    this.schedule(peer);
  }

  /** Whether `peer` is being dialled afresh after its suspension (heal dials). */
  isHealing(peer: string): boolean {
    return this.healEntry(peer) !== undefined;
  }

  private healEntry(peer: string): HealDials | undefined {
    const h = this.healing.get(peer);
    if (!h) return undefined;
    if (h.until > this.rt.clock.now()) return h;
    this.healing.delete(peer);
    return undefined;
  }

  /**
   * A link in its first sync whose peer answers no probe: closed, and the peer reported
   * unreachable (`onUnreachable`), as a dial that failed.
   */
  abandon(conn: Connection, reason: string): void {
    if (this.links.get(conn.peerName) !== conn || conn.isClosed || this.up.has(conn.peerName)) return;
    // Told, so that the peer, if it only stalled, does not take the closing for this node's loss.
    conn.dismiss(reason);
  }

  markUp(conn: Connection): void {
    if (this.links.get(conn.peerName) !== conn || conn.isClosed) return;
    this.suspended.delete(conn);
    this.healing.delete(conn.peerName);
    const r = this.retry.get(conn.peerName);
    if (r) {
      this.rt.clock.clearTimeout(r.timer);
      this.retry.delete(conn.peerName);
    }
    if (!this.up.has(conn.peerName)) {
      this.up.add(conn.peerName);
      // Whether the member runs is the cluster's view (logged there); this is one link of it.
      this.o.log.debug({ peer: conn.peerName, peer_address: conn.remote }, `link to ${conn.peerName} is up`);
    }
  }

  /**
   * Takes an authenticated node link (dialed or accepted). When one already exists for the peer,
   * both ends keep the same one: a link from a restarted peer (new boot id) or a newer link from
   * the same dialer replaces the old; between crossing dials the one dialed by the smaller name wins.
   */
  offer(conn: Connection): boolean {
    if (this.stopped) {
      conn.close('node is stopping');
      return false;
    }
    const peer = conn.peerName;
    const cur = this.links.get(peer);
    if (cur && !cur.isClosed) {
      const sameBoot = cur.peerBoot === conn.peerBoot;
      // A fresh link beats one kept only for a late answer.
      const keepNew =
        this.suspended.has(cur) || !sameBoot || cur.dialer === conn.dialer || (conn.dialer === 'local' ? this.o.self < peer : peer < this.o.self);
      if (!keepNew) {
        conn.dismiss('duplicate link');
        return false;
      }
      cur.removeAllListeners('close');
      this.suspended.delete(cur);
      cur.dismiss('replaced by a newer link');
    }
    this.links.set(peer, conn);
    // A member that links to us counts us among its neighbours; until the views agree, keep it a while.
    if (!this.keepsLink(peer) && !this.unneededSince.has(peer)) this.unneededSince.set(peer, this.rt.clock.now());
    conn.on('close', (reason: string) => this.onClose(conn, reason));
    this.o.onLink(conn);
    return true;
  }

  private onClose(conn: Connection, reason: string): void {
    const peer = conn.peerName;
    // A suspended link was already reported down; its closing is no news.
    const judged = this.suspended.delete(conn);
    if (this.links.get(peer) !== conn) return;
    this.links.delete(peer);
    const wasUp = this.up.delete(peer);
    // A link the peer dropped while running on (a duplicate, or replaced by one that crossed it)
    // says nothing about the peer: only link again. Should the peer be gone after all, that dial fails.
    if (!conn.dismissed) {
      if (wasUp) this.o.onDown(peer, reason, conn, this.keepsLink(peer), false);
      else if (!judged && this.wanted.has(peer) && !this.stopped) this.o.onUnreachable(peer, reason);
    }
    if (this.wanted.has(peer) && !this.stopped) this.schedule(peer);
  }

  private schedule(peer: string, minDelay = 0): void {
    const r = this.retry.get(peer) ?? { delay: this.t.backoffMinMs / 2 };
    this.rt.clock.clearTimeout(r.timer);
    // A suspended peer is dialled at the heal pace for a while (startHealing); the backoff takes over after.
    const heal = minDelay ? undefined : this.healEntry(peer);
    if (!heal) r.delay = Math.min(this.t.backoffMaxMs, Math.max(minDelay, r.delay * 2));
    // Heal dials start `connectMs` apart: one that timed out is followed at once.
    const now = this.rt.clock.now();
    const delay = heal
      ? Math.max(0, heal.dialledAt + jittered(heal.connectMs, this.t.jitter, this.rt.random.fraction) - now)
      : jittered(r.delay, this.t.jitter, this.rt.random.fraction);
    r.timer = this.rt.clock.setTimeout(() => {
      r.timer = undefined;
      if (this.wanted.has(peer) && this.needsDial(peer)) this.requestDial(peer);
    }, delay);
    r.timer.unref();
    this.retry.set(peer, r);
  }

  /** No link to `peer`, or only one kept for a late answer (suspended): a fresh one is wanted. */
  private needsDial(peer: string): boolean {
    const conn = this.links.get(peer);
    return !conn || conn.isClosed || this.suspended.has(conn);
  }

  /** Dials now if a slot is free, else queues the peer. */
  private requestDial(peer: string): void {
    if (this.dialing.has(peer)) return;
    if (this.dialing.size >= this.t.maxDials) {
      this.dialQueue.add(peer);
      return;
    }
    this.dialQueue.delete(peer);
    void this.dial(peer).finally(() => this.nextDial());
  }

  private nextDial(): void {
    for (const peer of this.dialQueue) {
      if (this.dialing.size >= this.t.maxDials) return;
      this.dialQueue.delete(peer);
      if (this.wanted.has(peer) && this.needsDial(peer) && !this.stopped) this.requestDial(peer);
    }
  }

  private async dial(peer: string): Promise<void> {
    if (this.stopped) return;
    const heal = this.healEntry(peer);
    // The link kept for a late answer when this heal dial started.
    const kept = heal ? this.links.get(peer) : undefined;
    this.dialing.add(peer);
    if (heal) heal.dialledAt = this.rt.clock.now();
    this.o.onDialing?.(peer);
    try {
      const { host } = parseNodeName(peer);
      const address = await this.o.resolver.resolve(host);
      const conn = await Connection.dial({
        host: address,
        port: this.portOf(peer),
        role: 'node',
        clusterName: this.o.clusterName,
        expectedPeer: peer,
        localAddress: this.o.localAddress,
        tls: this.o.tls,
        localName: this.o.self,
        cookie: this.o.cookie,
        boot: this.o.boot,
        log: this.o.log,
        handshakeTimeoutMs: this.o.handshakeTimeoutMs?.(),
        connectTimeoutMs: heal?.connectMs,
        clock: this.rt.clock,
        net: this.rt.net,
        stats: this.o.stats,
      });
      this.dialing.delete(peer);
      if (!this.wanted.has(peer) || this.stopped) {
        conn.dismiss('no longer wanted');
        return;
      }
      // The kept link answered while this heal dial was on its way: it stays, with its sync done.
      // (Any other new link, such as the peer's own heal dial, is settled by `offer`'s rules, so
      // that both ends keep the same one.)
      if (kept && this.links.get(peer) === kept && !kept.isClosed && !this.suspended.has(kept)) {
        conn.dismiss('its kept link answered meanwhile');
        return;
      }
      this.offer(conn);
    } catch (e) {
      this.dialing.delete(peer);
      const err = e as PeerError;
      // A heal dial that failed after the peer came back on another link: nothing to redial.
      if (heal && !this.needsDial(peer)) return;
      const r = this.retry.get(peer) ?? { delay: this.t.backoffMinMs / 2 };
      // Each distinct cause is logged once; repeats of it are debug noise.
      if (heal) {
        // Only a connect that got no answer says the path is still cut; any other end says it is open.
        if ((err.code !== 'unreachable' || err.errno === 'ECONNREFUSED') && this.healing.delete(peer)) {
          this.o.log.debug({ peer, reason: err.message }, `no more heal dials to ${peer}: its path is open (${err.message})`);
        } else if (err.errno === undefined) {
          // Timed out: the next is given longer, should the path have come back slower than it was.
          heal.connectMs = Math.min(this.t.healDialMaxMs, Math.round(heal.connectMs * this.t.healDialGrowth));
        }
        this.o.log.debug({ peer, reason: err.message }, `cannot link to ${peer} yet: ${err.message}`);
      } else if (r.lastError !== err.message) {
        const level = err.code === 'bad_cookie' || err.code === 'wrong_node' || err.code === 'wrong_cluster' ? 'warn' : 'info';
        this.o.log[level]({ peer, reason: err.message, code: err.code }, `cannot link to ${peer}: ${err.message}`);
        r.lastError = err.message;
      } else {
        this.o.log.debug({ peer, reason: err.message }, `still cannot link to ${peer}`);
      }
      this.retry.set(peer, r);
      // A heal dial's failure is no news: the peer was judged when it was suspended.
      if (!heal && this.wanted.has(peer) && !this.stopped) this.o.onUnreachable(peer, err.message, err.code, err.errno);
      if (this.wanted.has(peer) && !this.stopped) this.schedule(peer, err.code === 'bad_cookie' || err.code === 'wrong_cluster' ? this.t.backoffMaxMs : 0);
    }
  }

  /** Tells every peer this node is stopping (so it shows stopped, not removed) and closes. */
  async stop(reason: string): Promise<void> {
    this.stopped = true;
    for (const r of this.retry.values()) this.rt.clock.clearTimeout(r.timer);
    await Promise.all([...this.links.values()].map((c) => c.goodbye(reason)));
  }

  /** Drops every link while running on (this node changed cluster). */
  dismissAll(reason: string): void {
    for (const c of this.links.values()) c.dismiss(reason);
  }
}
