import { EventEmitter } from 'node:events';
import type net from 'node:net';
import type { Logger } from 'pino';
import { z } from 'zod/v3';
import { encodeFrame, FrameDecoder, FrameError, FRAME_LIMIT, HANDSHAKE_FRAME_LIMIT } from './frame';
import { describeTlsError, isTlsSocket, nodeTls, peerCertProblem, type TlsMaterial } from './tls';
import { CAST_OPS, OPS_BY_ROLE, opSchemas, rejectSchema, sessionMessageSchema, type Op, type RejectCode, type Role } from './messages';
import { DEFAULT_TUNING } from '../tuning';
import { isErrorCode, PeerError } from '../errors';
import { systemClock, type Clock, type Timer } from '../runtime/clock';
import type { HandshakeGuard } from './handshake-guard';
import { clientHandshake, serverHandshake } from './handshake-session';
import type { Stats } from '../observe/stats';
import { systemNetwork, type Network, type StreamSocket } from '../runtime/network';

/** The transport's timings and sizes (tuning.ts), the same for every connection of an agent. */
const T = DEFAULT_TUNING.transport;

/**
 * An empty body is left off the wire (and read back as {}): probes, the bulk of an idle cluster's
 * traffic, are a third smaller without it.
 */
function isEmpty(body: unknown): boolean {
  if (body === undefined || body === null) return true;
  if (typeof body !== 'object' || Array.isArray(body)) return false;
  for (const _ in body) return false;
  return true;
}

/**
 * The frame of a cast, a request that wants no answer (see CAST_OPS), for Connection.sendFrame on
 * each link it goes to: encoded once however many links.
 */
export function encodeCast(op: Op, body: unknown): Buffer {
  return encodeFrame(isEmpty(body) ? { t: 'cast', op } : { t: 'cast', op, body });
}

/** A failed request or handshake, with a machine-readable code and a sentence for people. */
export { PeerError } from '../errors';

export interface CommonOptions {
  localName: string;
  cookie: string;
  /** Identifies this process run, so a peer can tell a restarted node from a stale link. */
  boot: string;
  /**
   * This node's cluster.name: a node or joiner of another cluster is refused on both sides after
   * the cookie proof (a shared cookie, a copy-paste outcome, must not merge two clusters). A ctl
   * dials without it.
   */
  clusterName?: string;
  log: Logger;
  handshakeTimeoutMs?: number;
  /**
   * On the accepting side: what the welcome of a connection in this role carries (the cluster
   * info for `join` links). Every probe asks for it first, and on a loaded machine each turn of a
   * round trip is a wait for the CPU: sent with the welcome, it costs none.
   */
  welcomeInfo?: (role: Role, peer: string) => unknown;
  /** The runtime's clock (runtime/clock.ts). @default the system's */
  clock?: Clock;
  /** On the accepting side: slows sources that fail cookie proofs and logs their refusals once. */
  guard?: HandshakeGuard;
  /** Where frames in and out, and refused handshakes, are counted (`/metrics`). */
  stats?: Stats;
}

export interface DialOptions extends CommonOptions {
  host: string;
  port: number;
  role: Role;
  /** The node we mean to reach; a different name in its challenge fails the dial. */
  expectedPeer?: string;
  /** How long the TCP connect may take (TLS then gets `tuning.transport.connectTimeoutMs`). @default tuning.transport.connectTimeoutMs */
  connectTimeoutMs?: number;
  /** Source address: nodes connect from the address they listen on, so peers see who is calling. */
  localAddress?: string;
  /** Mutual TLS (inet_tls, inet6_tls); the peer's certificate must match `expectedPeer`'s host. */
  tls?: TlsMaterial;
  /** The runtime's network (runtime/network.ts). @default the system's TCP */
  net?: Network;
  /**
   * Called once `auth` is sent, before the welcome: a request made here goes in the same turn as
   * the auth, and the peer serves it once the session starts (its answer follows the welcome).
   * It saves a round trip; the peer reads it under the handshake's frame limit.
   */
  afterAuth?: (conn: Connection) => void;
}


export type RequestHandler = (op: Op, body: unknown, conn: Connection) => Promise<unknown>;
/**
 * The answer to a request known from the raw body alone, before its schema is checked (a change
 * seen before, which a member receives from most of its links), or undefined to serve it as usual.
 * It must read the body as untrusted, and answer only what the handler would for any body.
 */
export type KnownAnswer = (op: Op, raw: unknown) => Record<string, unknown> | undefined;

/**
 * One authenticated TCP connection to a peer node or a `muster ctl` client: framing, dial and
 * accept (the cookie handshake itself is handshake-session.ts), request/response and closing.
 */
export class Connection extends EventEmitter {
  peerName = '';
  peerBoot = '';
  role: Role = 'node';
  /** What the peer's welcome carried (dialed connections; see CommonOptions.welcomeInfo); unchecked. */
  infoInWelcome?: unknown;
  /**
   * The shortest round trip seen on this link, in ms (its handshake's, and the probes answered in
   * time): about how long a connect to the peer takes (membership/peers.ts, heal dials).
   */
  minRttMs?: number;
  readonly remote: string;
  private readonly decoder = new FrameDecoder(HANDSHAKE_FRAME_LIMIT);
  private nextId = 1;
  private readonly pending = new Map<number, { op: string; resolve: (v: unknown) => void; reject: (e: Error) => void; timer: Timer }>();
  private handler?: RequestHandler;
  private known?: KnownAnswer;
  /**
   * Requests and casts that came before the owner installed its handler. The peer may send on a
   * link the moment its own end is ready: a gossip in the same TCP chunk as the welcome reaches
   * this end before `dial` has even resolved, and used to be refused as malformed (news lost).
   */
  private unserved: Array<[id: number | undefined, op: string, body: unknown]> = [];
  private closed = false;
  /** Frames that arrive before the session starts are queued, not lost. */
  private inbox: unknown[] = [];
  private waiter?: (msg: unknown) => void;
  private session = false;
  /** The peer ended the link in order (SIGTERM), rather than vanishing. */
  saidBye = false;
  /** The peer dropped this link but runs on (see `dismiss`). */
  dismissed = false;

  private constructor(
    /** The socket, for the handshake's TLS and source-address checks (handshake-session.ts). */
    readonly socket: StreamSocket,
    readonly dialer: 'local' | 'remote',
    private readonly log: Logger,
    readonly clock: Clock,
    private readonly stats?: Stats,
  ) {
    super();
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (e) => this.close(`socket error: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    socket.on('close', () => this.close('connection closed by peer'));
  }

  /** A round trip on this link took `ms` (a handshake's turn, an answered probe). */
  noteRtt(ms: number): void {
    // A wall clock stepped back between the two readings says nothing.
    if (ms < 0) return;
    if (this.minRttMs === undefined || ms < this.minRttMs) this.minRttMs = ms;
  }

  /** Connects and authenticates; rejects with a PeerError whose message says why not. */
  static dial(opts: DialOptions): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const expectedHost = opts.expectedPeer ? opts.expectedPeer.slice(opts.expectedPeer.indexOf('@') + 1) : undefined;
      const network = opts.net ?? systemNetwork;
      const clock = opts.clock ?? systemClock;
      if (opts.tls && !network.tls) return reject(new PeerError('tls', 'TLS runs over the system network only'));
      const raw = network.connect({ host: opts.host, port: opts.port, localAddress: opts.localAddress });
      // TLS runs over the TCP socket, so outgoing links keep the node's own source address.
      const socket: StreamSocket = opts.tls ? nodeTls().connect({ ...opts.tls.clientOptions(opts.host, opts.port, expectedHost), socket: raw as net.Socket }) : raw;
      let connected = false;
      let connectTimer = clock.setTimeout(() => {
        socket.destroy();
        fail(new PeerError('unreachable', `cannot connect to ${opts.host}:${opts.port}: timed out`));
      }, opts.connectTimeoutMs ?? T.connectTimeoutMs);
      // `connectTimeoutMs` is the TCP connect's (a short one is one SYN); TLS then gets its own time.
      if (socket !== raw) {
        raw.once('connect', () => {
          if (failed || connected) return;
          clock.clearTimeout(connectTimer);
          connectTimer = clock.setTimeout(() => {
            socket.destroy();
            fail(new PeerError('tls', `TLS to ${opts.expectedPeer ?? `${opts.host}:${opts.port}`} (${opts.host}:${opts.port}): no TLS handshake within ${T.connectTimeoutMs} ms`));
          }, T.connectTimeoutMs);
        });
      }
      let failed = false;
      const fail = (err: PeerError) => {
        if (failed || connected) return;
        failed = true;
        clock.clearTimeout(connectTimer);
        reject(err);
      };
      // Errors before the connection is up reject the dial; both sockets may report the same one.
      const onError = (e: NodeJS.ErrnoException) => {
        const code = e.code;
        if (opts.tls && code !== 'ECONNREFUSED' && code !== 'EHOSTUNREACH' && code !== 'ENETUNREACH' && code !== 'EADDRNOTAVAIL') {
          const who = opts.expectedPeer ?? `${opts.host}:${opts.port}`;
          return fail(new PeerError('tls', `TLS to ${who} (${opts.host}:${opts.port}) refused: ${describeTlsError(code, e.message)}`));
        }
        fail(new PeerError('unreachable', `cannot connect to ${opts.host}:${opts.port}: ${code ?? e.message}`, code));
      };
      raw.on('error', onError);
      if (socket !== raw) socket.on('error', onError);
      socket.once(opts.tls ? 'secureConnect' : 'connect', () => {
        if (failed) return;
        connected = true;
        clock.clearTimeout(connectTimer);
        raw.off('error', onError);
        socket.off('error', onError);
        // Under TLS the TLS socket reports failures; the TCP socket's own error must not go unhandled.
        if (socket !== raw) raw.on('error', () => undefined);
        const conn = new Connection(socket, 'local', opts.log, clock, opts.stats);
        const problem = isTlsSocket(socket) ? peerCertProblem(socket, expectedHost) : undefined;
        if (problem) {
          const who = opts.expectedPeer ?? `${opts.host}:${opts.port}`;
          conn.sendReject('protocol', `the TLS certificate of ${who} is refused by ${opts.localName}: ${problem}`);
          conn.close(problem);
          return reject(new PeerError('tls', `TLS to ${who} (${opts.host}:${opts.port}) refused: ${problem}`));
        }
        conn.role = opts.role;
        clientHandshake(conn, opts).then(
          () => resolve(conn),
          (e: Error) => {
            conn.close(e.message);
            reject(e);
          },
        );
      });
    });
  }

  /** Authenticates an accepted socket; resolves with the connection or undefined (already logged). */
  static async accept(socket: StreamSocket, opts: CommonOptions): Promise<Connection | undefined> {
    const conn = new Connection(socket, 'remote', opts.log, opts.clock ?? systemClock, opts.stats);
    try {
      await serverHandshake(conn, opts);
      return conn;
    } catch (e) {
      const err = e as Error;
      const source = socket.remoteAddress ?? conn.remote;
      opts.stats?.handshakesRefused.inc(err instanceof PeerError ? err.code : 'internal');
      if (opts.guard) {
        if (err instanceof PeerError && err.code === 'bad_cookie') opts.guard.failed(source, conn.remote, `${conn.peerName || 'a client'} failed the cookie check (wrong cookie)`);
        else opts.guard.refused(source, conn.remote, err.message);
      } else opts.log.warn({ peer_address: conn.remote, peer: conn.peerName || undefined, reason: err.message }, `refused connection from ${conn.remote}: ${err.message}`);
      conn.close(err.message);
      return undefined;
    }
  }

  /** Waits for the next handshake message; a reject, a wrong message or a timeout fails it (handshake-session.ts). */
  expect<S extends z.ZodType>(schema: S, timeoutMs = T.handshakeTimeoutMs): Promise<z.infer<S>> {
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.waiter = undefined;
        reject(new PeerError('protocol', `handshake stalled: nothing received for ${timeoutMs}ms`));
      }, timeoutMs);
      const onClose = (reason: string) => {
        this.clock.clearTimeout(timer);
        reject(new PeerError('closed', `${reason} during the handshake (if only one side uses TLS: cluster.proto_dist must be the same on every node)`));
      };
      this.once('close', onClose);
      this.waiter = (msg) => {
        this.clock.clearTimeout(timer);
        this.off('close', onClose);
        this.waiter = undefined;
        const t = (msg as { t?: unknown })?.t;
        const rej = t === 'reject' ? rejectSchema.safeParse(msg) : undefined;
        if (rej?.success) return reject(new PeerError(rej.data.code, `refused by peer: ${rej.data.reason}`));
        const parsed = schema.safeParse(msg);
        if (!parsed.success) {
          return reject(new PeerError('protocol', `malformed handshake message${typeof t === 'string' ? ` '${t.slice(0, 20)}'` : ''}`));
        }
        resolve(parsed.data);
      };
      this.drainInbox();
    });
  }

  private drainInbox(): void {
    while (this.waiter && this.inbox.length) this.waiter(this.inbox.shift());
  }

  /**
   * On a dialed connection that sent a request with its auth: the answer may come in the same
   * read as the welcome, so frames are read under the session's limit from now on. The peer is
   * the node this end chose to dial, and nothing it sends is used before its proof is checked.
   */
  readLargeFrames(): void {
    this.decoder.limit = FRAME_LIMIT;
  }

  /** The handshake is done (handshake-session.ts): session frames may be large, and what came early is served. */
  startSession(): void {
    this.session = true;
    this.decoder.limit = FRAME_LIMIT;
    const queued = this.inbox;
    this.inbox = [];
    for (const m of queued) this.dispatch(m);
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    let messages: unknown[];
    try {
      messages = this.decoder.push(chunk);
    } catch (e) {
      if (!(e instanceof FrameError)) throw e;
      this.log.warn({ peer_address: this.remote, peer: this.peerName || undefined, reason: e.message }, `dropping connection from ${this.remote}: ${e.message}`);
      this.close(e.message);
      return;
    }
    if (this.stats) {
      for (let i = 0; i < messages.length; i++) this.stats.frameIn(this.kindOf(messages[i]), this.decoder.sizes[i]);
      if (this.session && this.role === 'node' && messages.length) this.stats.heard(this.peerName, this.clock.now());
    }
    for (const m of messages) {
      if (this.closed) return;
      if (this.session) this.dispatch(m);
      else {
        this.inbox.push(m);
        this.drainInbox();
      }
    }
  }

  private dispatch(raw: unknown): void {
    const parsed = sessionMessageSchema.safeParse(raw);
    if (!parsed.success) {
      this.log.warn({ peer_address: this.remote, peer: this.peerName }, `dropping connection to ${this.peerName} (${this.remote}): malformed message`);
      this.close('malformed message');
      return;
    }
    const msg = parsed.data;
    switch (msg.t) {
      case 'bye':
        if (msg.code === 'dismissed') {
          this.dismissed = true;
          this.close(`closed by peer: ${msg.reason}`);
          return;
        }
        this.saidBye = true;
        this.emit('bye', msg.reason);
        this.close(`peer said: ${msg.reason}`);
        return;
      case 'reject':
        this.emit('rejected', msg.code, msg.reason);
        this.close(`refused by peer: ${msg.reason}`);
        return;
      case 'res': {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        this.clock.clearTimeout(p.timer);
        if (msg.ok) p.resolve(msg.body ?? {});
        else p.reject(new PeerError(isErrorCode(msg.code) ? msg.code : 'failed', msg.error ?? 'request failed'));
        return;
      }
      case 'req':
      case 'cast': {
        const id = msg.t === 'req' ? msg.id : undefined;
        if (this.handler) void this.serve(id, msg.op, msg.body);
        else if (this.unserved.length < T.maxUnserved) this.unserved.push([id, msg.op, msg.body]);
        else this.close('too many requests before this end was ready');
        return;
      }
    }
  }

  /** Serves a request (`id`), or a cast (no id): a cast is never answered, its failures only logged. */
  private async serve(id: number | undefined, op: string, body: unknown): Promise<void> {
    const answer = (res: Record<string, unknown>) => {
      if (id !== undefined) this.send({ t: 'res', id, ...res }, op);
      else if (!res.ok) this.log.debug({ peer: this.peerName, op, code: res.code, reason: res.error }, `'${op}' cast from ${this.peerName} failed: ${String(res.error)}`);
    };
    const allowed = (id === undefined ? CAST_OPS : OPS_BY_ROLE)[this.role] as readonly string[];
    if (!allowed.includes(op)) {
      answer({ ok: false, code: 'bad_request', error: `operation '${op}' is not allowed ${id === undefined ? 'as a cast ' : ''}for a ${this.role} connection` });
      return;
    }
    const known = this.known?.(op as Op, body);
    if (known) {
      answer(isEmpty(known) ? { ok: true } : { ok: true, body: known });
      return;
    }
    const parsed = opSchemas[op as Op].safeParse(body ?? {});
    if (!parsed.success) {
      answer({ ok: false, code: 'bad_request', error: `malformed '${op}' request` });
      return;
    }
    try {
      const result = await this.handler!(op as Op, parsed.data, this);
      answer(isEmpty(result) ? { ok: true } : { ok: true, body: result });
    } catch (e) {
      const err = e as Error;
      if (!(e instanceof PeerError)) this.log.error({ err, op }, `'${op}' failed unexpectedly`);
      answer({ ok: false, code: e instanceof PeerError ? e.code : 'internal', error: err.message });
    }
  }

  /** Installs the handler of the peer's requests and casts; those that came before it are served now, in order. */
  onRequest(handler: RequestHandler, known?: KnownAnswer): void {
    this.handler = handler;
    this.known = known;
    const held = this.unserved;
    this.unserved = [];
    for (const [id, op, body] of held) if (!this.closed) void this.serve(id, op, body);
  }

  request(op: Op, body: unknown, timeoutMs = 10_000): Promise<unknown> {
    if (this.closed || this.socket.writableEnded) return Promise.reject(new PeerError('closed', `connection to ${this.peerName} is closed`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.pending.delete(id);
        reject(new PeerError('timeout', `${this.peerName} did not answer '${op}' within ${timeoutMs}ms`));
      }, timeoutMs);
      this.pending.set(id, { op, resolve, reject, timer });
      this.send(isEmpty(body) ? { t: 'req', id, op } : { t: 'req', id, op, body });
    });
  }

  /** `kind` names the frame in the traffic counts: an answer is counted under its request's op. */
  send(message: unknown, kind?: string): void {
    this.sendFrame(encodeFrame(message), kind ?? this.kindOf(message));
  }

  /** Sends a frame already encoded (encodeCast): the same news to many links is encoded once. */
  sendFrame(frame: Buffer, kind = 'cast'): void {
    // After a goodbye the socket is ended: a late frame (an answer, a change being passed on) is dropped.
    if (this.closed || this.socket.writableEnded) return;
    this.stats?.frameOut(kind, frame.length);
    this.socket.write(frame);
  }

  /** What a frame counts as: a request's or cast's op (an answer's, that of its request), the handshake, or control (bye, reject). */
  private kindOf(m: unknown): string {
    const { t, op, id } = (m ?? {}) as { t?: unknown; op?: unknown; id?: unknown };
    // Only the known ops: a label per unknown name would let a peer grow the metrics without bound.
    if (t === 'req' || t === 'cast') return typeof op === 'string' && Object.hasOwn(opSchemas, op) ? op : 'unknown';
    if (t === 'res') return (typeof id === 'number' && this.pending.get(id)?.op) || 'reply';
    if (t === 'bye' || t === 'reject') return 'control';
    return 'handshake';
  }

  sendReject(code: RejectCode, reason: string): void {
    this.send({ t: 'reject', code, reason });
  }

  /** Sends `bye` so the peer knows this is an orderly stop, then closes. */
  goodbye(reason: string): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      this.socket.end(encodeFrame({ t: 'bye', reason }), () => resolve());
      this.clock.setTimeout(resolve, T.byeWaitMs).unref();
    });
  }

  /**
   * Closes a link this node drops while running on (a duplicate, one replaced, one not needed),
   * telling the peer so: the peer must not take the closed link for this node's loss.
   */
  dismiss(reason: string): void {
    this.send({ t: 'bye', reason, code: 'dismissed' });
    this.close(reason);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) {
      this.clock.clearTimeout(p.timer);
      p.reject(new PeerError('closed', `connection to ${this.peerName || this.remote} closed: ${reason}`));
    }
    this.pending.clear();
    // end() lets a frame written just before (a reject, a bye) reach the peer, which then closes
    // its end. Destroying early, with the peer's frames still unread here, would send a reset that
    // can discard the bye at the peer before it is read; a peer that never closes is cut off later.
    this.socket.end();
    this.clock.setTimeout(() => this.socket.destroy(), T.closeGraceMs).unref();
    this.emit('close', reason);
  }
}
