import type http from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../config/schema';
import type { ClusterNode } from '../membership/cluster';
import type { Registry } from 'prom-client';
import { clusterView } from '../observe/cluster-view';
import type { TlsMaterial } from '../transport/tls';
import type { Tuning } from '../tuning';
import { readiness, ROUTES, type Lifecycle, type Reply, type RouteContext } from './routes';

export interface HttpListener {
  /** `host:port` it listens on. */
  readonly address: string;
  /** Where a client on this machine reaches it: the bind address, or the node's own for a wildcard bind. */
  readonly reachAt: { host: string; port: number; tls: boolean };
  close(): Promise<void>;
}

const ALLOWED = 'GET, HEAD';

/**
 * The agent's read-only HTTP listener (config `http`): probes, metrics, the cluster API and page
 * (routes.ts). Bounded against slow, large and many clients (tuning.http), so a flood costs the
 * membership nothing but CPU it is not starved of. Resolves once it listens; a port in use rejects
 * with one line that names `http.port`.
 */
export async function startHttp(opts: {
  node: ClusterNode;
  cfg: Config;
  log: Logger;
  host: string;
  lifecycle: () => Lifecycle;
  tuning: Tuning['http'];
  /** HTTPS with these (http.tls). */
  tls?: TlsMaterial;
  /** The node's certificate, whatever serves it (the cluster port's TLS or this listener's): its expiry is a metric. */
  certificate?: TlsMaterial;
}): Promise<HttpListener> {
  const { node, cfg, log, tuning: t } = opts;
  let registry: Registry | undefined;
  // prom-client is loaded at the first scrape: a node nobody scrapes (most Docker nodes) does not
  // carry it (about 2 MB of RSS). Not import(): see the https note below.
  const metrics = () =>
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (registry ??= (require('../observe/metrics') as typeof import('../observe/metrics')).metricsRegistry(node, { certificate: opts.certificate, ready: () => readiness(opts.lifecycle(), node).ready }));
  // Every open page asks each second, and the overlay's links are O(N^2) name hashes to work out:
  // one view per refresh period serves them all, on the membership's own event loop.
  let view: { at: number; value: ReturnType<typeof clusterView> } | undefined;
  const cachedView = () => {
    const now = Date.now();
    if (!view || now - view.at >= t.pageRefreshMs / 2) view = { at: now, value: clusterView(node) };
    return view.value;
  };
  const ctx: RouteContext = { node, registry: metrics, clusterView: cachedView, lifecycle: opts.lifecycle, pageRefreshMs: t.pageRefreshMs };
  const serverOptions: http.ServerOptions = { maxHeaderSize: t.maxHeaderBytes, headersTimeout: t.headersTimeoutMs, requestTimeout: t.requestTimeoutMs, keepAliveTimeout: t.keepAliveTimeoutMs, connectionsCheckingInterval: t.timeoutCheckMs };
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => void serve(ctx, req, res, log);
  let server: http.Server;
  if (cfg.http.tls && opts.tls) {
    // Loaded only here, as node:tls is (transport/tls.ts): a plain agent never pays for it. Not
    // import(): the bundle runs from V8's code cache, where a dynamic import has no callback.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const https = require('node:https') as typeof import('node:https');
    // A TLS handshake is bounded like a request head: an idle socket must not hold a connection slot.
    const secure = https.createServer({ ...serverOptions, ...opts.tls.certAndKey, handshakeTimeout: t.headersTimeoutMs }, onRequest);
    // A rotated certificate is served from the next connection on, as on the cluster port.
    opts.tls.onReload(() => secure.setSecureContext(opts.tls!.certAndKey));
    server = secure;
  } else {
    // Loaded here, once the cluster port listens, not when the bundle loads: node:http costs
    // about 16 ms of CPU to load, which peers waiting for this node to listen should not wait for.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    server = (require('node:http') as typeof import('node:http')).createServer(serverOptions, onRequest);
  }
  server.maxConnections = t.maxConnections;
  const host = cfg.http.bind ?? opts.host;
  const port = cfg.http.port;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'EADDRINUSE' ? 'is in use by another process' : e.code === 'EADDRNOTAVAIL' ? 'is not an address of this machine' : `cannot be listened on (${e.code ?? e.message})`;
      const fix = e.code === 'EADDRNOTAVAIL' ? 'set http.bind to one of its addresses' : 'set http.port to a free port';
      reject(Object.assign(new Error(`http.port ${port} on ${host} ${why}: ${fix}, or http.enable = false`), { code: e.code }));
    });
    server.listen({ host, port }, resolve);
  });
  server.on('error', (e) => log.error({ err: e.message }, `HTTP listener error: ${e.message}`));
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  log.info({ address: host, port, tls: cfg.http.tls }, `HTTP listener on ${cfg.http.tls ? 'https' : 'http'}://${address} (/status, /metrics, /api/v1, /)`);
  const wildcard = host === '0.0.0.0' || host === '::';
  return {
    address,
    reachAt: { host: wildcard ? opts.host : host, port, tls: cfg.http.tls },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function serve(ctx: RouteContext, req: http.IncomingMessage, res: http.ServerResponse, log: Logger): Promise<void> {
  // The body of a request is never read: nothing here takes one.
  req.resume();
  let reply: Reply;
  let route: string | undefined;
  try {
    const url = URL.canParse(req.url ?? '/', 'http://localhost') ? new URL(req.url ?? '/', 'http://localhost') : undefined;
    route = url && Object.hasOwn(ROUTES, url.pathname) ? url.pathname : undefined;
    if (!url) {
      // A client's garbage is its own problem: a 400, not an error in the node's log.
      reply = { status: 400, type: 'text/plain; charset=utf-8', body: 'the request target is not a valid path\n' };
    } else if (req.method !== 'GET' && req.method !== 'HEAD') {
      reply = { status: 405, type: 'text/plain; charset=utf-8', body: `method ${req.method} is not allowed: this listener is read-only (${ALLOWED}); changes go through muster ctl\n` };
    } else if (!route) {
      reply = { status: 404, type: 'text/plain; charset=utf-8', body: `no such path: ${url.pathname.slice(0, 100)} (there are ${Object.keys(ROUTES).join(', ')})\n` };
    } else reply = await ROUTES[route](ctx, url.searchParams);
  } catch (e) {
    log.error({ err: (e as Error).message, path: req.url }, `HTTP request failed: ${(e as Error).message}`);
    reply = { status: 500, type: 'text/plain; charset=utf-8', body: 'internal error (see the agent\'s log)\n' };
  }
  const headers: http.OutgoingHttpHeaders = {
    'content-type': reply.type,
    'content-length': Buffer.byteLength(reply.body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    // The page loads its own script and the API from this listener, nothing from elsewhere.
    'content-security-policy': "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'",
  };
  if (reply.status === 405) headers.allow = ALLOWED;
  ctx.node.stats.httpRequests.inc(`${route ?? 'other'} ${reply.status}`);
  res.writeHead(reply.status, headers);
  res.end(req.method === 'HEAD' ? undefined : reply.body);
}
