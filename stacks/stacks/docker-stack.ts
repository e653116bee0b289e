import { Construct, DockerProvider, TerraformOutput, TerraformStack, TerraformVariable } from '../lib/cdktf';
import { DEFAULT_IMAGES } from '../lib/images';
import { MusterCluster, type DiscoveryProps, type MusterClusterProps } from '../constructs/muster-cluster';

export interface MusterDockerStackProps {
  /** How this stack's cluster forms. */
  readonly discovery: DiscoveryProps;
  /** Node count or names (the cores). @default 3 */
  readonly nodes?: MusterClusterProps['nodes'];
  /** Replicant nodes (`MusterClusterProps.replicants`). @default 0 */
  readonly replicants?: number;
  /** The agents' cluster.name; also names the network and containers. */
  readonly clusterName: string;
  /** IPv4 subnet of the stack's network; each stack has its own so stacks can run side by side. */
  readonly subnet: string;
  /** An IPv6 /64 too (dual-stack). @default none */
  readonly ipv6Subnet?: string;
  /** `cluster.proto_dist`; the TLS variants take their certificates from the `tls_dir` variable. @default 'inet_tcp' */
  readonly protoDist?: 'inet_tcp' | 'inet6_tcp' | 'inet_tls' | 'inet6_tls';
  /** The nodes' data volumes on removal (`MusterClusterProps.dataRemovalPolicy`). @default 'destroy' */
  readonly dataRemovalPolicy?: 'destroy' | 'retain';
}

/**
 * One stack per way of forming a cluster, each the seed page's Docker example. The cookie and
 * every image are Terraform variables: the cookie has no default and is sensitive; images default
 * to the official ones and can point at local images (`TF_VAR_dns_image=...`).
 */
export class MusterDockerStack extends TerraformStack {
  readonly cluster: MusterCluster;

  constructor(scope: Construct, id: string, props: MusterDockerStackProps) {
    super(scope, id);
    new DockerProvider(this, 'docker', {});
    const cookie = new TerraformVariable(this, 'cookie', {
      type: 'string',
      sensitive: true,
      description: 'The cluster cookie (shared secret of the nodes). No default: set TF_VAR_cookie.',
    });
    const image = (name: string, def: string, what: string) =>
      new TerraformVariable(this, name, { type: 'string', default: def, description: `${what} (override for local or mirrored images)` }).stringValue;
    this.cluster = new MusterCluster(this, 'cluster', {
      clusterName: props.clusterName,
      cores: props.nodes ?? 3,
      replicants: props.replicants,
      discovery: props.discovery,
      dataRemovalPolicy: props.dataRemovalPolicy,
      cookie: cookie.stringValue,
      network: { subnet: props.subnet, ipv6Subnet: props.ipv6Subnet },
      transport: {
        protoDist: props.protoDist,
        tlsDir: props.protoDist?.endsWith('_tls')
          ? new TerraformVariable(this, 'tls_dir', {
              type: 'string',
              description: 'Absolute directory on the Docker host with a folder <node host>/ per node holding ca.crt, tls.crt (SAN = the host) and tls.key (owned by uid 1000, mode 0600); each node gets its own folder bind-mounted read-only',
            }).stringValue
          : undefined,
      },
      images: {
        nodeBase: image('node_base_image', DEFAULT_IMAGES.nodeBase, 'Base image of the node image: Node.js 20.9+ and /bin/sh'),
        // Only the images this stack uses become variables.
        dns: props.discovery.strategy === 'dns' ? image('dns_image', DEFAULT_IMAGES.dns, 'BIND 9 image') : undefined,
        etcd: props.discovery.strategy === 'etcd' ? image('etcd_image', DEFAULT_IMAGES.etcd, 'etcd image') : undefined,
      },
    });
    const nodes = this.cluster.declaredNodes;
    new TerraformOutput(this, 'node_names', { value: nodes.map((n) => n.nodeName), description: 'The node names (node.name)' });
    if (this.cluster.replicants.length) new TerraformOutput(this, 'replicant_names', { value: this.cluster.replicants.map((n) => n.nodeName), description: 'The replicant nodes (node.role = replicant)' });
    new TerraformOutput(this, 'containers', { value: nodes.map((n) => n.containerName), description: 'The node containers' });
    new TerraformOutput(this, 'node_addresses', {
      value: Object.fromEntries(nodes.map((n) => [n.nodeName, n.address6 ? [n.address, n.address6] : [n.address]])),
      description: 'Each node name and its address(es) on the network',
    });
    if (this.cluster.dnsServer) new TerraformOutput(this, 'dns_server', { value: this.cluster.dnsServer.server, description: 'The BIND 9 server of the cluster zone (ip:port)' });
    if (this.cluster.etcdEndpoints.length) new TerraformOutput(this, 'etcd_endpoints', { value: this.cluster.etcdEndpoints, description: 'etcd client URLs the nodes use' });
    const http = this.cluster.http;
    if (http) {
      // On Linux the host reaches the containers' addresses on the cluster's network directly.
      const url = (n: (typeof nodes)[number], path: string) => `${http.scheme}://${n.address}:${http.port}${path}`;
      new TerraformOutput(this, 'status_urls', { value: Object.fromEntries(nodes.map((n) => [n.nodeName, url(n, '/status')])), description: 'Each node\'s EMQX-style status (GET; /status/ready for readiness, / for the cluster page)' });
      new TerraformOutput(this, 'metrics_urls', { value: Object.fromEntries(nodes.map((n) => [n.nodeName, url(n, '/metrics')])), description: 'Each node\'s Prometheus metrics' });
    }
    new TerraformOutput(this, 'status_commands', {
      value: nodes.map((n) => `docker exec ${n.containerName} muster ctl cluster status`),
      description: 'Check the cluster from any node',
    });
    if (props.discovery.strategy === 'manual') {
      new TerraformOutput(this, 'join_commands', {
        value: nodes.slice(1).map((n) => `docker exec ${n.containerName} muster ctl cluster join ${nodes[0].nodeName}`),
        description: 'Manual strategy: form the cluster (run on each joining node)',
      });
    }
  }
}
