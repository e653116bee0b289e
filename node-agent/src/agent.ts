import net from 'node:net';
import { certificateSettingsOf, tlsSettingsOf } from './config/schema';
import { describeTlsError, loadTls, verifyServerSide } from './transport/tls';
import type { Config } from './config/schema';
import { parseNodeName } from './config/node-name';
import { createLogger, flushLog } from './log';
import { SHORT_COOKIE } from './config/load';
import { ClusterNode } from './membership/cluster';
import { Autocluster } from './membership/autocluster';
import { createDiscovery } from './discovery';
import { serveSocket } from './serve-socket';
import { HandshakeGuard } from './transport/handshake-guard';
import { DEFAULT_TUNING, type Tuning } from './tuning';
import { systemClock } from './runtime/clock';
import { startHttp, type HttpListener } from './http/listener';
import { writeListenerFile } from './http/listener-file';
import type { Lifecycle } from './http/routes';

/** `muster agent`: listens on the node's host at cluster.port, links to the members, serves ctl. */
export async function runAgent(cfg: Config, tuning: Tuning = DEFAULT_TUNING): Promise<void> {
  const log = createLogger(cfg.node.name, cfg.log.level);
  if (cfg.node.cookie.length < SHORT_COOKIE) {
    log.warn({ length: cfg.node.cookie.length }, `the cookie is ${cfg.node.cookie.length} characters long: anyone who guesses it is a member of the cluster; use ${SHORT_COOKIE} or more (openssl rand -base64 32)`);
  }
  const tlsSettings = tlsSettingsOf(cfg);
  const material = tlsSettings ? loadTls(tlsSettings, log) : undefined;
  // http.tls serves the node's certificate even when the cluster port runs plain TCP.
  const httpTls = cfg.http.enable && cfg.http.tls ? (material ?? loadTls(certificateSettingsOf(cfg), log)) : undefined;
  const node = ClusterNode.open(cfg, log, material, tuning);
  // A file left by the last run names a listener that is not up yet (or, after the address moved,
  // another node's): the healthcheck must not trust it until this run writes its own.
  writeListenerFile(cfg.node.data_dir, undefined);
  const host = await node.resolver.resolve(parseNodeName(cfg.node.name).host);

  const guard = new HandshakeGuard(log, tuning.guard, systemClock);
  const onSocket = (socket: net.Socket) => serveSocket(node, cfg, log, socket, undefined, guard);
  const server = net.createServer((raw) => {
    if (!material) return onSocket(raw);
    const peer = `${raw.remoteAddress}:${raw.remotePort}`;
    const secure = material.serverSocket(raw);
    // A TLS handshake that fails never reaches the cookie handshake: log who and why here.
    secure.once('error', (err: NodeJS.ErrnoException) => {
      log.warn({ peer_address: peer, reason: err.code }, `refused TLS connection from ${peer}: ${describeTlsError(err.code, err.message)}`);
      raw.destroy();
    });
    secure.once('secure', () => {
      secure.removeAllListeners('error');
      verifyServerSide(secure);
      onSocket(secure);
    });
  });
  material?.watch();
  if (httpTls && httpTls !== material) httpTls.watch();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: cfg.cluster.port, ipv6Only: node.family === 6 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (e) => log.error({ err: e }, `listener error: ${e.message}`));
  let lifecycle: Lifecycle = 'starting';
  let httpListener: HttpListener | undefined;
  if (cfg.http.enable) {
    try {
      httpListener = await startHttp({ node, cfg, log, host, lifecycle: () => lifecycle, tuning: tuning.http, tls: httpTls, certificate: material ?? httpTls });
    } catch (e) {
      // Nothing half-started: the cluster port closes again before the error ends the process.
      server.close();
      throw e;
    }
  }
  writeListenerFile(cfg.node.data_dir, httpListener?.reachAt);
  log.info(
    { address: host, port: cfg.cluster.port, proto_dist: cfg.cluster.proto_dist, discovery_strategy: cfg.cluster.discovery_strategy, data_dir: cfg.node.data_dir },
    `listening on ${host}:${cfg.cluster.port}`,
  );
  node.start(host);
  lifecycle = 'started';
  const discovery = await createDiscovery(cfg, log);
  const autocluster = discovery ? new Autocluster(node, discovery, cfg.cluster.discovery_strategy, log, tuning.discovery) : undefined;
  autocluster?.start();

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    lifecycle = 'stopping';
    writeListenerFile(cfg.node.data_dir, undefined);
    log.info({ signal }, `stopping on ${signal}: telling peers this node is stopped, not gone`);
    server.close();
    await autocluster?.stop();
    await node.stop();
    await httpListener?.close();
    log.info('stopped');
    await flushLog(log);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
