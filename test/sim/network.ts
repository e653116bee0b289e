import { EventEmitter } from 'node:events';
import type { Network, StreamSocket } from '../../node-agent/src/runtime';
import type { Process, Scheduler } from './scheduler';

/**
 * An in-memory network with TCP's behaviour as the agent sees it through node:net: connects that
 * are refused (nothing listens) or hang (a cut path drops the SYN); bytes in order per direction,
 * each link with its own delay; a cut path holds bytes and delivers them at TCP's first
 * retransmission after it heals, not at the moment it heals (see `retransmitAt`), so a partition
 * shows as silence, not as a closed link, and ends as late as it does on Linux; FIN on `end` and on a
 * crashed process's sockets (the kernel closes them); a reset when a connection is dropped. A
 * frozen process's kernel still completes handshakes and buffers bytes; the process reads them
 * when it is thawed. Read from Node.js's net.Socket (events 'connect', 'data', 'error', 'close';
 * allowHalfOpen false: a FIN received ends this side too) and Linux TCP.
 */

/**
 * Linux's retransmission timers, as measured on this lab's kernel (Linux 6.18, Debian 12's
 * sysctls: net.ipv4.tcp_syn_linear_timeouts = 4, tcp_syn_retries = 6) in two network namespaces
 * with tcpdump on the far side (2026-12-07; docs/decisions/0011):
 * - a SYN that gets no answer is sent again 1.0, 2.1, 3.1, 4.1, 5.1, 7.1, 11.4 s after the first
 *   (five linear timeouts of 1 s, then doubling: ip-sysctl.rst, tcp_syn_linear_timeouts; the
 *   capture ended there, the later ones are that doubling carried on), and the connect fails
 *   with ETIMEDOUT 134.5 s after it;
 * - data that gets no acknowledgement (a link whose round trip is well under 1 ms) is sent again
 *   205, 413, 837, 1669, 3333, 6661 ms after it was first sent: a tail loss probe, then the
 *   retransmission timeout of about 200 ms (TCP_RTO_MIN in include/net/tcp.h) doubling, up to
 *   120 s (TCP_RTO_MAX).
 * Data written behind a lost segment waits for it (in the loss state Linux sends the lost one).
 * Not modelled: a host whose own link went down must resolve its neighbours' addresses again
 * (ARP, a try a second) before it answers anything; and the connection's end after about 15
 * minutes of unacknowledged data (tcp_retries2).
 */
export const TCP_TIMERS = {
  /** Intervals between a SYN and its retransmissions: 1 s five times, then 2 s doubling. */
  syn: { intervals: [1000, 1000, 1000, 1000, 1000], doubleFrom: 2000, maxMs: 120_000, giveUpMs: 134_500 },
  /** Intervals between a data segment and its retransmissions: 200 ms, then 200 ms doubling. */
  data: { intervals: [200], doubleFrom: 200, maxMs: 120_000, giveUpMs: Infinity },
} as const;

export interface RetransmitTimer {
  readonly intervals: readonly number[];
  readonly doubleFrom: number;
  readonly maxMs: number;
  readonly giveUpMs: number;
}

/**
 * The first moment at or after `now` at which a transmission sent at `sentAt`, and lost each time
 * until then, is sent again under `t`; undefined when it has been given up by then.
 */
export function retransmitAt(sentAt: number, now: number, t: RetransmitTimer): number | undefined {
  let at = sentAt;
  let next = t.doubleFrom;
  // Bounded: 10,000 retransmissions of at least 200 ms outlast any run.
  for (let k = 0; k < 10_000; k++) {
    let step: number;
    if (k < t.intervals.length) step = t.intervals[k];
    else {
      step = next;
      next = Math.min(t.maxMs, next * 2);
    }
    at += step;
    if (at - sentAt >= t.giveUpMs) return undefined;
    if (at >= now) return at;
  }
  return undefined;
}

interface Listener {
  process: Process;
  onSocket: (s: SimSocket) => void;
}

/** One direction of a link: bytes leave in order and arrive in order. */
interface Direction {
  lastAt: number;
  /** Segments held while the path is cut, delivered in order at the first retransmission after it heals. */
  held: Array<() => void>;
  /** When the first of them was sent: its retransmission timer runs from then. */
  heldSince: number;
  /** A retransmission is scheduled (the path healed). */
  resending: boolean;
}

interface Link {
  a: SimSocket;
  b: SimSocket;
  ab: Direction;
  ba: Direction;
}

/** A frame (`[u32 length][u8 version][JSON]`, transport/frame.ts) carrying a gossip request or cast. */
function isGossip(frame: Buffer): boolean {
  if (frame.length < 5) return false;
  try {
    const m = JSON.parse(frame.subarray(5).toString('utf8')) as { t?: string; op?: string };
    return (m.t === 'req' || m.t === 'cast') && m.op === 'gossip';
  } catch {
    return false;
  }
}

const pairKey = (x: string, y: string) => (x < y ? `${x}|${y}` : `${y}|${x}`);

export class SimSocket extends EventEmitter implements StreamSocket {
  remoteAddress?: string;
  remotePort?: number;
  writableEnded = false;
  destroyed = false;
  private closeEmitted = false;
  link?: Link;
  constructor(
    private readonly net: SimNetwork,
    readonly owner: Process,
    readonly localAddress: string,
  ) {
    super();
  }

  setNoDelay(): this {
    return this;
  }

  /** The events modelled; a listener for any other ('end', 'timeout', 'drain', ...) is refused, not ignored. */
  private static readonly EVENTS = new Set(['connect', 'data', 'error', 'close']);

  override on(event: string, listener: (...args: any[]) => void): this {
    if (!SimSocket.EVENTS.has(event)) throw new Error(`SimSocket: the '${event}' event is not modelled (network.ts models ${[...SimSocket.EVENTS].join(', ')})`);
    return super.on(event, listener);
  }

  override once(event: string, listener: (...args: any[]) => void): this {
    if (!SimSocket.EVENTS.has(event)) throw new Error(`SimSocket: the '${event}' event is not modelled (network.ts models ${[...SimSocket.EVENTS].join(', ')})`);
    return super.once(event, listener);
  }

  write(chunk: Buffer): boolean {
    if (this.writableEnded || this.destroyed) {
      // As net.Socket: a write after end is an error, emitted on the next tick.
      const e = Object.assign(new Error('write after end'), { code: 'ERR_STREAM_WRITE_AFTER_END' });
      this.net.sched.after(0, () => this.emit('error', e), this.owner);
      return false;
    }
    if (!this.link) throw new Error('SimSocket: write before connect is not modelled');
    this.net.send(this, 'data', Buffer.from(chunk));
    return true;
  }

  end(chunk?: Buffer | (() => void), cb?: () => void): this {
    if (typeof chunk === 'function') [chunk, cb] = [undefined, chunk];
    if (chunk) this.write(chunk);
    if (!this.writableEnded && !this.destroyed) {
      this.writableEnded = true;
      if (this.link) this.net.send(this, 'fin');
    }
    if (cb) this.net.sched.after(0, cb, this.owner);
    return this;
  }

  destroy(): this {
    if (this.destroyed) return this;
    if (!this.writableEnded && this.link) this.net.send(this, 'fin');
    this.writableEnded = true;
    this.destroyed = true;
    this.net.sched.after(0, () => this.emitClose(), this.owner);
    return this;
  }

  /** Delivered from the network: runs as an event of this socket's process. */
  receive(kind: 'data' | 'fin' | 'rst', chunk?: Buffer): void {
    if (this.closeEmitted) return;
    if (kind === 'data') {
      if (!this.destroyed) this.emit('data', chunk);
      return;
    }
    if (kind === 'rst') {
      this.writableEnded = true;
      this.destroyed = true;
      const e = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
      this.emit('error', e);
      this.emitClose();
      return;
    }
    // FIN: no more bytes from the peer; this side ends too (allowHalfOpen false), then closes.
    if (!this.writableEnded) {
      this.writableEnded = true;
      this.net.send(this, 'fin');
    }
    this.destroyed = true;
    this.emitClose();
  }

  emitClose(): void {
    if (this.closeEmitted) return;
    this.closeEmitted = true;
    this.emit('close', false);
  }

  /** The kernel of a crashed process closes this socket: the peer sees a FIN, nobody here hears of it. */
  crash(): void {
    if (!this.writableEnded && this.link) this.net.send(this, 'fin');
    this.writableEnded = true;
    this.destroyed = true;
    this.closeEmitted = true;
  }
}

export class SimNetwork {
  private readonly listeners = new Map<string, Listener>();
  private readonly links = new Set<Link>();
  /**
   * Links with segments held in a cut, until both directions delivered them: a FIN delivered one
   * way ends the link (`links`) while the other way may still hold the answer to it.
   */
  private readonly holding = new Set<Link>();
  private readonly socketsOf = new Map<Process, Set<SimSocket>>();
  /** Connects whose SYN met a cut path: they go on when it heals (SYN retransmission). */
  private pendingSyns: Array<{ from: string; to: string; sentAt: number; client: SimSocket; go: () => void }> = [];
  private group = new Map<string, number>();
  private readonly cutPairs = new Set<string>();
  private readonly slowPairs = new Map<string, number>();
  private nextPort = 40000;
  /**
   * Hosts that lose the gossip they are sent (whole frames: the agent writes one frame per write).
   * This stands for news a node received on a link that stays up but did not apply: the protocol
   * does not send a one-way change twice, and a member that missed one waited for a new link.
   */
  readonly losesGossip = new Set<string>();
  /** Connects made, per destination address (SYNs sent again not counted). */
  readonly connectsTo = new Map<string, number>();
  /** Bytes and segments carried, per source address: the cost figures of a run. */
  readonly sentBytes = new Map<string, number>();
  readonly sentFrames = new Map<string, number>();

  constructor(
    readonly sched: Scheduler,
    /** One-way delay of a link between two hosts, in ms (seeded per pair by the caller). */
    private readonly baseDelay: (a: string, b: string) => number,
    /** Seeded: 0 keeps a write whole, else where (as a fraction) to split it (about 1 in 5 writes). */
    private readonly split: () => number = () => 0,
  ) {}

  listen(address: string, port: number, process: Process, onSocket: (s: SimSocket) => void): void {
    this.listeners.set(`${address}:${port}`, { process, onSocket });
  }

  /** A process closes its listening sockets (server.close()): new dials are refused, links stay. */
  unlisten(address: string, process: Process): void {
    for (const [k, l] of this.listeners) if (k.startsWith(`${address}:`) && l.process === process) this.listeners.delete(k);
  }

  /** A process ends: it listens no more, and its kernel closes its sockets. */
  crash(address: string, process: Process): void {
    for (const [k, l] of this.listeners) if (k.startsWith(`${address}:`) && l.process === process) this.listeners.delete(k);
    for (const s of this.socketsOf.get(process) ?? []) s.crash();
    this.socketsOf.delete(process);
  }

  // ---- faults ------------------------------------------------------------------------------

  isCut(a: string, b: string): boolean {
    if (a === b) return false;
    const ga = this.group.get(a);
    const gb = this.group.get(b);
    if (ga !== undefined && gb !== undefined && ga !== gb) return true;
    return this.cutPairs.has(pairKey(a, b));
  }

  /** Splits the hosts into groups that cannot reach each other (hosts not named stay with group 0). */
  partition(groups: string[][]): void {
    this.group = new Map();
    groups.forEach((g, i) => g.forEach((h) => this.group.set(h, i)));
    for (const [k] of this.listeners) {
      const h = k.slice(0, k.lastIndexOf(':'));
      if (!this.group.has(h)) this.group.set(h, 0);
    }
  }

  healPartition(): void {
    this.group = new Map();
    this.flush();
  }

  cutLink(a: string, b: string): void {
    this.cutPairs.add(pairKey(a, b));
  }

  restoreLink(a: string, b: string): void {
    this.cutPairs.delete(pairKey(a, b));
    this.flush();
  }

  /** Every link between a and b gets `ms` one-way delay (undefined: back to the base delay). */
  slowLink(a: string, b: string, ms: number | undefined): void {
    if (ms === undefined) this.slowPairs.delete(pairKey(a, b));
    else this.slowPairs.set(pairKey(a, b), ms);
  }

  /** Drops every connection of `address` (a reset, as from a firewall or a NAT table flushed). */
  resetAll(address: string): number {
    let n = 0;
    for (const l of [...this.links]) {
      if (l.a.localAddress !== address && l.b.localAddress !== address) continue;
      this.links.delete(l);
      // What a cut held goes with the connection.
      l.ab.held = [];
      l.ba.held = [];
      this.holding.delete(l);
      n++;
      for (const s of [l.a, l.b]) this.sched.after(0, () => s.receive('rst'), s.owner);
    }
    return n;
  }

  healAll(): void {
    this.group = new Map();
    this.cutPairs.clear();
    this.slowPairs.clear();
    this.flush();
  }

  private delay(a: string, b: string): number {
    return this.slowPairs.get(pairKey(a, b)) ?? this.baseDelay(a, b);
  }

  /** Sends again, at TCP's next retransmission, what cut paths held, now that some healed. */
  private flush(): void {
    const syns = this.pendingSyns;
    this.pendingSyns = [];
    for (const p of syns) {
      if (p.client.destroyed) continue;
      if (this.isCut(p.from, p.to)) {
        this.pendingSyns.push(p);
        continue;
      }
      // Given up already: it failed then (`timedOut`, scheduled when it was first held).
      const at = retransmitAt(p.sentAt, this.sched.now, TCP_TIMERS.syn);
      if (at !== undefined) this.sched.at(at, () => (this.isCut(p.from, p.to) ? this.pendingSyns.push(p) : p.go()), undefined);
    }
    // Every link with something held is in `holding`, whether or not a FIN ended it.
    for (const l of [...this.holding]) {
      for (const [from, to, dir] of [[l.a, l.b, l.ab], [l.b, l.a, l.ba]] as const) this.resend(l, from, to, dir);
    }
  }

  /**
   * Delivers a direction's held segments at its next retransmission, if its path is not cut then
   * nor when they arrive. Segments sent meanwhile join them (they arrive behind the lost one): the
   * held list is taken when the retransmission arrives, not when it is sent.
   */
  private resend(l: Link, from: SimSocket, to: SimSocket, dir: Direction): void {
    if (!dir.held.length || dir.resending || this.isCut(from.localAddress, to.localAddress)) return;
    dir.resending = true;
    const at = retransmitAt(dir.heldSince, this.sched.now, TCP_TIMERS.data)!;
    const cutAgain = () => {
      // Held on; the timer keeps doubling from the first loss, and the next heal sends again.
      dir.resending = false;
    };
    this.sched.at(at, () => {
      if (this.isCut(from.localAddress, to.localAddress)) return cutAgain();
      const arrive = Math.max(this.sched.now + this.delay(from.localAddress, to.localAddress), dir.lastAt);
      dir.lastAt = arrive;
      this.sched.at(arrive, () => {
        if (this.isCut(from.localAddress, to.localAddress)) return cutAgain();
        dir.resending = false;
        const held = dir.held;
        dir.held = [];
        if (!l.ab.held.length && !l.ba.held.length) this.holding.delete(l);
        held.forEach((f) => f());
      }, to.owner);
    }, undefined);
  }

  // ---- carrying bytes ----------------------------------------------------------------------

  send(from: SimSocket, kind: 'data' | 'fin', chunk?: Buffer): void {
    const l = from.link;
    if (!l) return;
    const to = l.a === from ? l.b : l.a;
    const dir = l.a === from ? l.ab : l.ba;
    if (chunk) {
      this.sentBytes.set(from.localAddress, (this.sentBytes.get(from.localAddress) ?? 0) + chunk.length + 40);
      this.sentFrames.set(from.localAddress, (this.sentFrames.get(from.localAddress) ?? 0) + 1);
    }
    const sentAt = this.sched.now;
    const at = Math.max(this.sched.now + this.delay(from.localAddress, to.localAddress), dir.lastAt);
    dir.lastAt = at;
    const lost = () => !!chunk && this.losesGossip.has(to.localAddress) && isGossip(chunk);
    // TCP keeps no write boundaries: a write arrives now and then in two reads, as on a real link.
    const x = chunk && chunk.length > 1 ? this.split() : 0;
    const cut = x ? 1 + Math.floor(x * (chunk!.length - 1)) : 0;
    const deliver = () => {
      if (kind === 'fin') this.links.delete(l);
      if (lost()) return;
      if (cut) {
        to.receive('data', chunk!.subarray(0, cut));
        to.receive('data', chunk!.subarray(cut));
      } else to.receive(kind, chunk);
    };
    this.sched.at(
      at,
      () => {
        // In flight when the path was cut, or behind segments held: held too, in order.
        if (dir.held.length || this.isCut(from.localAddress, to.localAddress)) {
          if (!dir.held.length) dir.heldSince = sentAt;
          dir.held.push(deliver);
          this.holding.add(l);
          // Behind a loss on a path that has healed meanwhile: goes with the retransmission.
          this.resend(l, from, to, dir);
        } else deliver();
      },
      to.owner,
    );
  }

  private track(s: SimSocket): void {
    let set = this.socketsOf.get(s.owner);
    if (!set) this.socketsOf.set(s.owner, (set = new Set()));
    set.add(s);
    s.once('close', () => set!.delete(s));
  }

  /** The network as one process sees it. */
  forProcess(process: Process, address: string): Network {
    return {
      tls: false,
      connect: (opts) => {
        const from = opts.localAddress ?? address;
        this.connectsTo.set(opts.host, (this.connectsTo.get(opts.host) ?? 0) + 1);
        const client = new SimSocket(this, process, from);
        client.remoteAddress = opts.host;
        client.remotePort = opts.port;
        this.track(client);
        const sentAt = this.sched.now;
        let held = false;
        // Every SYN went unanswered: the connect fails (TCP_TIMERS.syn.giveUpMs after the first).
        const timedOut = () => {
          if (client.destroyed || client.link) return;
          client.destroyed = true;
          client.emit('error', Object.assign(new Error(`connect ETIMEDOUT ${opts.host}:${opts.port}`), { code: 'ETIMEDOUT' }));
          client.emitClose();
        };
        const syn = () => {
          if (client.destroyed) return;
          const d = this.delay(from, opts.host);
          this.sched.after(
            d,
            () => {
              if (client.destroyed) return;
              if (this.isCut(from, opts.host)) {
                this.pendingSyns.push({ from, to: opts.host, sentAt, client, go: syn });
                if (!held) this.sched.at(sentAt + TCP_TIMERS.syn.giveUpMs, timedOut, process);
                held = true;
                return;
              }
              const listener = this.listeners.get(`${opts.host}:${opts.port}`);
              if (!listener || listener.process.dead) {
                // A RST back: nothing listens there.
                this.sched.after(d, () => {
                  if (client.destroyed) return;
                  client.destroyed = true;
                  client.emit('error', Object.assign(new Error(`connect ECONNREFUSED ${opts.host}:${opts.port}`), { code: 'ECONNREFUSED' }));
                  client.emitClose();
                }, process);
                return;
              }
              const server = new SimSocket(this, listener.process, opts.host);
              server.remoteAddress = from;
              server.remotePort = this.nextPort++;
              this.track(server);
              const link: Link = { a: client, b: server, ab: { lastAt: 0, held: [], heldSince: 0, resending: false }, ba: { lastAt: 0, held: [], heldSince: 0, resending: false } };
              client.link = server.link = link;
              this.links.add(link);
              // The kernel completes the handshake even when the process is frozen; the process
              // accepts when it runs.
              this.sched.after(0, () => listener.onSocket(server), listener.process);
              link.ba.lastAt = this.sched.now + d;
              this.sched.after(d, () => {
                if (!client.destroyed) client.emit('connect');
              }, process);
            },
            undefined,
          );
        };
        syn();
        return client;
      },
    };
  }
}
