import { readFileSync } from 'node:fs';
import { noop } from 'cockatiel';
import { Etcd3, type Lease } from 'etcd3';
import type { Logger } from 'pino';
import { z } from 'zod/v3';
import { DiscoveryError, type DiscoveredNode, type Discovery } from './strategy';
import { DEFAULT_TUNING } from '../tuning';

const T = DEFAULT_TUNING.lookups;

export interface EtcdOptions {
  servers: string[];
  prefix: string;
  clusterName: string;
  nodeTtlMs: number;
  node: string;
  port: number;
  username?: string;
  password?: string;
  ssl?: { certfile?: string; keyfile?: string; cacertfile?: string };
  log: Logger;
}

const registration = z.object({ node: z.string(), port: z.number().int().min(1).max(65535).optional() });

/** The key a node registers under: `<prefix>/<cluster.name>/nodes/<node name>`. */
export function etcdNodeKey(prefix: string, clusterName: string, node: string): string {
  return `${nodesPrefix(prefix, clusterName)}${node}`;
}

function nodesPrefix(prefix: string, clusterName: string): string {
  return `${prefix}/${clusterName}/nodes/`;
}

/**
 * `cluster.etcd`: each node registers its key under a lease of `node_ttl`, keeps it alive, and lists
 * the prefix to find peers. Membership never depends on etcd being up: an outage only pauses
 * discovery, and when etcd returns the node registers again with a new lease if the old one expired.
 */
export class EtcdDiscovery implements Discovery {
  private readonly client: Etcd3;
  private lease?: Lease;
  private registered = false;
  private readonly key: string;

  constructor(private readonly o: EtcdOptions) {
    this.key = etcdNodeKey(o.prefix, o.clusterName, o.node);
    const read = (f?: string) => (f ? readFileSync(f) : undefined);
    const tls = o.ssl?.cacertfile || o.servers.some((s) => s.startsWith('https:'));
    this.client = new Etcd3({
      hosts: o.servers,
      credentials: tls ? { rootCertificate: read(o.ssl?.cacertfile) ?? Buffer.alloc(0), privateKey: read(o.ssl?.keyfile), certChain: read(o.ssl?.certfile) } : undefined,
      auth: o.username ? { username: o.username, password: o.password ?? '' } : undefined,
      // Our discovery loop retries with backoff; the client's own breaker would hide etcd's return for seconds.
      faultHandling: { host: () => noop, global: noop },
      defaultCallOptions: () => ({ deadline: Date.now() + T.etcdDeadlineMs }),
      grpcOptions: { 'grpc.initial_reconnect_backoff_ms': T.etcdReconnectMinMs, 'grpc.max_reconnect_backoff_ms': T.etcdReconnectMaxMs },
      dialTimeout: T.etcdDeadlineMs,
    });
  }

  private fail(what: string, e: unknown): never {
    const err = e as Error;
    throw new DiscoveryError(`etcd ${this.o.servers.join(',')} ${what}: ${err.message.split('\n')[0]}`);
  }

  async register(): Promise<void> {
    if (this.registered) return;
    const lease = this.client.lease(Math.max(1, Math.round(this.o.nodeTtlMs / 1000)));
    lease.on('lost', (err: Error) => {
      if (this.lease !== lease) return;
      this.registered = false;
      this.lease = undefined;
      this.o.log.warn({ key: this.key, reason: err.message.split('\n')[0] }, `etcd lease for ${this.key} lost; registering again when etcd answers`);
    });
    try {
      await lease.put(this.key).value(JSON.stringify({ node: this.o.node, port: this.o.port }));
    } catch (e) {
      lease.removeAllListeners('lost');
      await lease.revoke().catch(() => undefined);
      this.fail(`refused the registration of ${this.key}`, e);
    }
    this.lease = lease;
    this.registered = true;
    this.o.log.info({ key: this.key, ttl_ms: this.o.nodeTtlMs }, `registered ${this.key} in etcd`);
  }

  async discover(): Promise<DiscoveredNode[]> {
    let kvs: Record<string, string>;
    try {
      kvs = await this.client.getAll().prefix(nodesPrefix(this.o.prefix, this.o.clusterName)).strings();
    } catch (e) {
      this.fail(`cannot list ${nodesPrefix(this.o.prefix, this.o.clusterName)}`, e);
    }
    const out: DiscoveredNode[] = [];
    for (const [key, value] of Object.entries(kvs)) {
      const name = key.slice(nodesPrefix(this.o.prefix, this.o.clusterName).length);
      let port: number | undefined;
      try {
        port = registration.parse(JSON.parse(value)).port;
      } catch {
        port = undefined; // A key written by hand still names a node.
      }
      out.push({ name, port });
    }
    return out;
  }

  watch(onChange: () => void): void {
    // The watcher reconnects by itself after an outage; a failure here only costs the speed-up.
    this.client
      .watch()
      .prefix(nodesPrefix(this.o.prefix, this.o.clusterName))
      .create()
      .then((w) => {
        w.on('put', onChange);
        w.on('delete', onChange);
        w.on('error', () => undefined);
      })
      .catch((e: Error) => this.o.log.debug({ reason: e.message }, 'etcd watch not established; discovery polls'));
  }

  async unregister(): Promise<void> {
    const lease = this.lease;
    this.lease = undefined;
    this.registered = false;
    if (!lease) return;
    lease.removeAllListeners('lost');
    await lease.revoke().catch((e: Error) => this.o.log.warn({ reason: e.message }, `could not delete ${this.key} from etcd; it expires with its lease`));
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
