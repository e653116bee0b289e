import type { Logger } from 'pino';
import type { Config } from '../config/schema';
import { parseNodeName } from '../config/node-name';
import { DnsDiscovery } from './dns';
import { StaticDiscovery } from './static';
import type { Discovery } from './strategy';

/**
 * The strategy `cluster.discovery_strategy` names, or undefined for `manual`. etcd's client (gRPC)
 * and the Kubernetes one are loaded only when chosen: they would otherwise cost every node memory.
 */
export async function createDiscovery(cfg: Config, log: Logger): Promise<Discovery | undefined> {
  const c = cfg.cluster;
  const namePart = parseNodeName(cfg.node.name).name;
  switch (c.discovery_strategy) {
    case 'manual':
      return undefined;
    case 'static':
      return new StaticDiscovery(c.static.seeds);
    case 'dns':
      return new DnsDiscovery({ name: c.dns.name!, recordType: c.dns.record_type, servers: c.dns.servers, namePart });
    case 'etcd': {
      const { EtcdDiscovery } = await import('./etcd');
      return new EtcdDiscovery({
        servers: c.etcd.server!,
        prefix: c.etcd.prefix,
        clusterName: c.name,
        nodeTtlMs: c.etcd.node_ttl,
        node: cfg.node.name,
        port: c.port,
        username: c.etcd.username,
        password: c.etcd.password,
        ssl: c.etcd.ssl,
        log,
      });
    }
    case 'k8s': {
      const { K8sDiscovery } = await import('./k8s');
      return new K8sDiscovery({
        apiserver: c.k8s.apiserver,
        serviceName: c.k8s.service_name,
        namespace: c.k8s.namespace,
        addressType: c.k8s.address_type,
        suffix: c.k8s.suffix,
        tokenFile: c.k8s.token_file,
        caFile: c.k8s.ca_file,
        namePart,
      });
    }
  }
}
