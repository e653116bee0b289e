import { X509Certificate } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type * as Tls from 'node:tls';
import type { Logger } from 'pino';

let tlsModule: typeof Tls | undefined;
/**
 * node:tls, loaded on first use: only inet_tls and inet6_tls clusters need it, and loading it
 * costs every agent about 0.5 MB of RSS and a few milliseconds of start-up.
 */
export function nodeTls(): typeof Tls {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (tlsModule ??= require('node:tls') as typeof Tls);
}

/** Whether a socket is a TLS socket, without loading node:tls for plain ones. */
export function isTlsSocket(socket: unknown): socket is Tls.TLSSocket {
  return (socket as Partial<Tls.TLSSocket>).encrypted === true;
}

// The settings are the config's (config/schema.ts), so the config does not depend on transport.
import type { TlsSettings } from '../config/schema';
import { DEFAULT_TUNING } from '../tuning';

const T = DEFAULT_TUNING.lookups;
export type { TlsSettings };

const VERSION: Record<string, Tls.SecureVersion> = { 'tlsv1.2': 'TLSv1.2', 'tlsv1.3': 'TLSv1.3' };

/** Why a TLS peer was refused, in words an operator can act on. */
export function describeTlsError(code: string | undefined, message = ''): string {
  switch (code) {
    case 'CERT_HAS_EXPIRED':
      return 'certificate expired';
    case 'CERT_NOT_YET_VALID':
      return 'certificate not valid yet';
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'CERT_SIGNATURE_FAILURE':
    case 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA':
      return 'certificate not signed by the cluster CA (cluster.ssl.cacertfile differs)';
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `certificate does not match the node name's host (SAN): ${message}`;
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
    case 'ERR_SSL_HTTP_REQUEST':
    case 'ERR_SSL_PACKET_LENGTH_TOO_LONG':
      return 'peer does not speak TLS (cluster.proto_dist must be the same on every node)';
    case 'ECONNRESET':
      return 'peer closed the connection during the TLS handshake (a plain-TCP node? cluster.proto_dist must be the same on every node)';
    default:
      return `TLS failed: ${code ?? ''} ${message}`.trim();
  }
}

/**
 * The node's certificate, key and the cluster CA, read again whenever one of the files changes so
 * a rotation needs no restart. Every connection, both directions, is mutual TLS with verify_peer.
 */
export class TlsMaterial {
  private opts: Tls.SecureContextOptions;
  private ctx?: Tls.SecureContext;
  private readonly listeners: ((o: Tls.SecureContextOptions) => void)[] = [];

  constructor(private readonly s: TlsSettings, private readonly log: Logger) {
    this.opts = this.load();
  }

  private load(): Tls.SecureContextOptions {
    const read = (f: string, what: string) => {
      try {
        return readFileSync(f);
      } catch (e) {
        throw new Error(`cluster.ssl.${what} ${f}: cannot be read (${(e as NodeJS.ErrnoException).code})`);
      }
    };
    const versions = this.s.versions.map((v) => VERSION[v]).sort();
    const opts: Tls.SecureContextOptions = {
      cert: read(this.s.certfile, 'certfile'),
      key: read(this.s.keyfile, 'keyfile'),
      ca: read(this.s.cacertfile, 'cacertfile'),
      minVersion: versions[0],
      maxVersion: versions[versions.length - 1],
      ciphers: this.s.ciphers,
    };
    nodeTls().createSecureContext(opts); // throws on a key that does not match, a malformed PEM, ...
    return opts;
  }

  /** Polls the files (1 s); a failed reload keeps the previous material and says why. */
  watch(): void {
    const files = [this.s.certfile, this.s.keyfile, this.s.cacertfile];
    const onChange = () => {
      try {
        this.opts = this.load();
        this.ctx = undefined;
        this.log.info({ files }, 'reloaded TLS certificate, key and CA after a change');
        for (const l of this.listeners) l(this.opts);
      } catch (e) {
        this.log.warn({ reason: (e as Error).message }, `TLS files changed but cannot be used yet; keeping the previous ones: ${(e as Error).message}`);
      }
    };
    for (const f of files) watchFile(f, { interval: T.tlsWatchIntervalMs }, (cur, prev) => cur.mtimeMs !== prev.mtimeMs && onChange());
  }

  unwatch(): void {
    for (const f of [this.s.certfile, this.s.keyfile, this.s.cacertfile]) unwatchFile(f);
  }

  onReload(l: (o: Tls.SecureContextOptions) => void): void {
    this.listeners.push(l);
  }

  /** When this node's certificate (the first in certfile) expires, in ms since the epoch. */
  certificateExpiresAt(): number {
    return Date.parse(new X509Certificate(this.opts.cert as Buffer).validTo);
  }

  /** The certificate and key, for a server that does not ask for a client certificate (the HTTP listener). */
  get certAndKey(): { cert: Tls.SecureContextOptions['cert']; key: Tls.SecureContextOptions['key'] } {
    return { cert: this.opts.cert, key: this.opts.key };
  }

  /** The current secure context (rebuilt after a reload). */
  context(): Tls.SecureContext {
    this.ctx ??= nodeTls().createSecureContext(this.opts);
    return this.ctx;
  }

  /**
   * Server side of an accepted socket: the client's certificate is requested, and checked by the
   * caller (`peerCertProblem`) so the log and the refusal can say exactly why.
   */
  serverSocket(raw: import('node:net').Socket): Tls.TLSSocket {
    return new (nodeTls().TLSSocket)(raw, { isServer: true, secureContext: this.context(), requestCert: true, rejectUnauthorized: false });
  }

  /** Client side: verify the server against the cluster CA and the host part of the node we mean to reach. */
  clientOptions(host: string, port: number, expectedHost: string | undefined): Tls.ConnectionOptions {
    const sni = this.s.server_name_indication;
    const isName = expectedHost && !/^[\d.]+$/.test(expectedHost) && !expectedHost.includes(':');
    return {
      ...this.opts,
      host,
      port,
      // Verified right after the handshake by `peerCertProblem` (never skipped), so the refusal can
      // be sent to the peer and logged with its reason instead of a bare reset.
      rejectUnauthorized: false,
      servername: sni === 'disable' ? undefined : (sni ?? (isName ? expectedHost : undefined)),
    };
  }
}

/**
 * A server TLSSocket made by hand (to keep the raw socket's address for logs) does not fill in
 * `authorized` the way tls.Server does; this asks OpenSSL the same question tls.Server asks.
 * Without an answer the peer counts as unverified: never a silent fallback.
 */
export function verifyServerSide(socket: Tls.TLSSocket): void {
  const handle = (socket as unknown as { _handle?: { verifyError?: () => (Error & { code?: string }) | null } })._handle;
  const err = handle?.verifyError ? handle.verifyError() : new Error('cannot verify');
  const s = socket as { authorized: boolean; authorizationError?: Error | string };
  if (!socket.getPeerCertificate() || !Object.keys(socket.getPeerCertificate()).length) {
    s.authorized = false;
    s.authorizationError = undefined;
  } else if (err) {
    s.authorized = false;
    s.authorizationError = (err as { code?: string }).code ?? err.message;
  } else {
    s.authorized = true;
  }
}

/**
 * Why the peer's certificate on a TLS socket is refused, or undefined when it is signed by the
 * cluster CA and (with `host`) names that host in its SAN.
 */
export function peerCertProblem(socket: Tls.TLSSocket, host: string | undefined): string | undefined {
  if (!socket.authorized) {
    const code = socket.authorizationError ? String(socket.authorizationError) : undefined;
    return code ? describeTlsError(code) : 'no certificate presented';
  }
  if (!host) return undefined;
  const err = nodeTls().checkServerIdentity(host, socket.getPeerCertificate());
  return err ? describeTlsError('ERR_TLS_CERT_ALTNAME_INVALID', `${host} is not in ${socket.getPeerCertificate().subjectaltname ?? 'its SAN'}`) : undefined;
}

/** Reads the TLS files named by the config; an unreadable or unusable file is a configuration error. */
export function loadTls(settings: TlsSettings, log: Logger): TlsMaterial {
  try {
    return new TlsMaterial(settings, log);
  } catch (e) {
    throw new TlsConfigError((e as Error).message);
  }
}

export class TlsConfigError extends Error {}
