import { Construct } from '../lib/cdktf';
import { parseNodeName } from '../../node-agent/src/contract';
import type { AgentSettings } from '../lib/agent-env';
import { isIP } from 'node:net';
import { ipv4ToInt, parseProps, requireCookieToken } from '../lib/validation';
import { addCheck, reportProblem } from '../lib/problems';
import { DockerImage, TerraformStack } from '../lib/cdktf';
import { providerOf, useProvider } from '../lib/provider';
import { AgentImage } from './agent-image';
import { ClusterNetwork } from './cluster-network';
import { DnsServer } from './dns-server';
import { relativeName, type DnsRecord } from './dns-zone';
import { EtcdCluster } from './etcd-cluster';
import { MusterNode } from './muster-node';
import { httpEndpointOf, type HttpEndpoint } from '../lib/http-endpoint';

import { ADDRESS_PLAN, specSchema, type DeclaredNode, type MusterClusterProps, type Spec } from './muster-cluster-props';

export { ADDRESS_PLAN, KIT_OWNED_SETTINGS, kitOwnedProblem, type DeclaredNode, type DiscoveryProps, type MusterClusterImages, type MusterClusterProps } from './muster-cluster-props';

/** FNV-1a of a node name: its host number when the user gave it no address. */
function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (const c of Buffer.from(name, 'utf8')) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  return h;
}

/**
 * A whole Muster cluster on Docker from one validated spec: network, node image, nodes and, as the
 * discovery strategy needs them, a DNS server with the records derived from the nodes or etcd.
 * Node names, DNS records, static seeds and etcd endpoints all come from the one list of nodes.
 */
export class MusterCluster extends Construct {
  readonly clusterName: string;
  readonly domain: string;
  readonly port: number;
  readonly discovery: Spec['discovery'];
  readonly network: ClusterNetwork;
  /** The node image built for this cluster, or the shared one given; undefined for a prebuilt reference. */
  readonly image?: AgentImage;
  /** The node image's name (as built, or the prebuilt reference). */
  readonly imageName: string;
  /** What the node containers run: the image's ID, so a new image replaces them. */
  readonly imageId: string;
  /** The host numbers used. */
  readonly addressPlan: { readonly dns: number; readonly etcdFirst: number; readonly nodesFirst: number; readonly nodesLast: number; readonly replicantsFirst: number };
  /** The core nodes. */
  readonly nodes: MusterNode[] = [];
  /** The replicant nodes (`replicants`). */
  readonly replicants: MusterNode[] = [];
  readonly dnsServer?: DnsServer;
  readonly etcd?: EtcdCluster;
  /** `cluster.etcd.server` the nodes use (etcd strategy). */
  readonly etcdEndpoints: string[] = [];
  /** The agent settings every node gets (besides its name and the cookie). */
  readonly settings: AgentSettings;
  /** The agents' `cluster.proto_dist`. */
  readonly protoDist: string;
  /** Where each node's read-only HTTP listener answers (`/status`, `/metrics`) on its address; undefined with `http.enable = false`. */
  readonly http?: HttpEndpoint;

  constructor(scope: Construct, id: string, props: MusterClusterProps) {
    super(scope, id);
    // Constructs brought in are taken as they are; the rest of the props are validated.
    const sharedNetwork = props.network instanceof ClusterNetwork ? props.network : undefined;
    const sharedDns = props.dnsServer instanceof DnsServer ? props.dnsServer : undefined;
    if (props.cores !== undefined && props.nodes !== undefined) reportProblem(this, 'cores: give cores or nodes (the same thing), not both');
    const s = parseProps(this, specSchema, {
      ...props,
      nodes: props.nodes ?? props.cores,
      cores: undefined,
      network: sharedNetwork ? {} : props.network,
      dnsServer: sharedDns ? true : props.dnsServer,
    }, { nodes: 1, discovery: { strategy: 'manual' }, cookie: '', replicants: 0 });
    requireCookieToken(this, props.cookie);
    this.clusterName = s.clusterName;
    this.domain = s.domain ?? (sharedDns ? `${s.clusterName}.${sharedDns.zone}` : `${s.clusterName}.internal`);
    this.port = s.port;
    this.discovery = s.discovery;
    this.network = sharedNetwork ?? new ClusterNetwork(this, 'network', { name: s.network.name ?? `${s.clusterName}-net`, subnet: s.network.subnet, ipv6Subnet: s.network.ipv6Subnet });
    this.addressPlan = { ...ADDRESS_PLAN, nodesLast: this.network.capacity, ...s.addressPlan };
    this.protoDist = s.transport.protoDist;
    if (typeof props.image === 'string') {
      if (!props.image.trim()) reportProblem(this, 'image: must name an image, e.g. registry.example.com/muster-node:0.1.0');
      const prebuilt = new DockerImage(this, 'node-image', { name: props.image, keepLocally: true });
      this.imageName = props.image;
      this.imageId = prebuilt.imageId;
    } else {
      this.image =
        props.image ??
        new AgentImage(this, 'node-image', { contextPath: s.images.nodeContextPath, baseImage: s.images.nodeBase, repository: `${s.clusterName}-node`, name: s.images.nodeName });
      this.imageName = this.image.name;
      this.imageId = this.image.imageId;
    }

    const declared = this.declareNodes(s);
    const declaredReplicants = this.declareReplicants(s);
    const d = s.discovery;
    const wantsDns = s.dnsServer ?? d.strategy === 'dns';
    if (sharedDns) {
      if (this.domain !== sharedDns.zone && !this.domain.endsWith(`.${sharedDns.zone}`)) {
        reportProblem(this, `domain: ${this.domain} is not in the zone ${sharedDns.zone} of the DnsServer ${sharedDns.node.path}; use a domain under it`);
      }
      this.dnsServer = sharedDns;
      sharedDns.addRecords(this.dnsRecords(declared, declaredReplicants, sharedDns.zone));
    } else if (wantsDns) {
      this.dnsServer = new DnsServer(this, 'dns', {
        network: this.network,
        address: this.network.addressAt(this.addressPlan.dns),
        zone: this.domain,
        records: this.dnsRecords(declared, declaredReplicants, this.domain),
        image: s.images.dns,
        containerName: `${s.clusterName}-dns`,
      });
    }
    if (d.strategy === 'etcd') {
      if (d.members > 0) {
        this.etcd = new EtcdCluster(this, 'etcd', {
          network: this.network,
          addresses: Array.from({ length: d.members }, (_, i) => this.network.addressAt(this.addressPlan.etcdFirst + i)),
          image: s.images.etcd,
          namePrefix: `${s.clusterName}-etcd`,
        });
        this.etcdEndpoints.push(...this.etcd.endpoints);
      }
      this.etcdEndpoints.push(...(d.endpoints ?? []));
    }

    const readyMinNodes = s.readyMinNodes ?? (d.strategy === 'manual' ? 1 : Math.min(2, declared.length));
    this.settings = {
      ...(s.agentSettings as AgentSettings),
      'cluster.name': s.clusterName,
      'cluster.port': s.port,
      'cluster.discovery_strategy': d.strategy,
      'cluster.proto_dist': s.transport.protoDist === 'inet_tcp' ? undefined : s.transport.protoDist,
      'cluster.static.seeds': d.strategy === 'static' ? (d.seeds ?? declared.slice(0, s.staticSeedCount).map((n) => n.nodeName)) : undefined,
      'cluster.dns.name': d.strategy === 'dns' ? (d.recordType === 'a' ? `${s.clusterName}.${this.domain}` : `_muster._tcp.${this.domain}`) : undefined,
      'cluster.dns.record_type': d.strategy === 'dns' ? d.recordType : undefined,
      'cluster.dns.servers': this.dnsServer && d.strategy === 'dns' ? [this.dnsServer.server] : undefined,
      'cluster.etcd.server': d.strategy === 'etcd' && this.etcdEndpoints.length ? this.etcdEndpoints.join(',') : undefined,
      'cluster.etcd.prefix': d.strategy === 'etcd' ? d.prefix : undefined,
      'cluster.etcd.node_ttl': d.strategy === 'etcd' ? d.nodeTtl : undefined,
      'cluster.ready_min_nodes': readyMinNodes > 1 ? readyMinNodes : undefined,
    };
    this.http = httpEndpointOf(this.settings);
    for (const n of [...declared, ...declaredReplicants]) {
      const node = new MusterNode(this, n.containerName, {
        role: n.role,
        network: this.network,
        nodeName: n.nodeName,
        address: n.address,
        imageId: this.imageId,
        cookie: props.cookie,
        settings: this.settings,
        containerName: n.containerName,
        address6: n.address6,
        tlsDir: s.transport.tlsDir,
        dataRemovalPolicy: s.dataRemovalPolicy,
        dependsOn: [...(this.dnsServer ? [this.dnsServer.container] : []), ...(this.etcd?.members.map((m) => m.container) ?? [])],
      });
      (n.role === 'replicant' ? this.replicants : this.nodes).push(node);
    }
    useProvider(this, props.provider);
    for (const [what, shared] of [['network', sharedNetwork], ['dnsServer', sharedDns], ['image', props.image instanceof AgentImage ? props.image : undefined]] as const) {
      if (shared && providerOf(shared) !== props.provider) {
        reportProblem(this, `${what}: ${shared.node.path} is on another Docker provider than this cluster; give both the same provider`);
      }
    }
    addCheck(this, () => this.crossChecks());
  }

  private declareNodes(s: Spec): DeclaredNode[] {
    const ipNamed = s.discovery.strategy === 'dns' && s.discovery.recordType === 'a';
    const { nodesFirst, nodesLast } = this.addressPlan;
    const slots = nodesLast - nodesFirst + 1;
    const v6 = (hostNumber: number) => (s.network.ipv6Subnet ? this.network.address6At(hostNumber) : undefined);
    if (!Array.isArray(s.nodes)) {
      const count = s.nodes as number;
      if (count > slots) reportProblem(this, `nodes: ${count} nodes do not fit in ${this.network.subnet} (host numbers ${nodesFirst}-${nodesLast})`);
      // Counted nodes only grow or shrink at the end, so their number is a stable identity.
      return Array.from({ length: Math.min(count, slots) }, (_, i) => {
        const hostNumber = nodesFirst + i;
        const address = this.network.addressAt(hostNumber);
        const nodeName = ipNamed ? `${s.nodeNamePrefix}@${address}` : `${s.nodeNamePrefix}@node${i + 1}.${this.domain}`;
        // Prefixed with the cluster name, so several clusters can share one Docker engine.
        return { nodeName, role: 'core', host: parseNodeName(nodeName).host, address, address6: v6(hostNumber), containerName: `${s.clusterName}-node${i + 1}` };
      });
    }
    const problems: string[] = [];
    const byHostNumber = new Map<number, string>();
    const byContainer = new Map<string, string>();
    const fixed = new Set(Object.values(s.addresses));
    const nodes = (s.nodes as readonly string[]).map((nodeName) => {
      const host = parseNodeName(nodeName).host;
      const address = s.addresses[nodeName] ?? this.network.addressAt(nodesFirst + (nameHash(nodeName) % slots));
      if (!s.addresses[nodeName] && fixed.has(address)) problems.push(`addresses: ${nodeName} hashes to ${address}, which another node has as its fixed address; give ${nodeName} an address of its own`);
      const hostNumber = ipv4ToInt(address) - ipv4ToInt(this.network.addressAt(1)) + 1;
      const other = byHostNumber.get(hostNumber);
      if (other) problems.push(`addresses: ${other} and ${nodeName} both get ${address}; give one of them a fixed address in \`addresses\``);
      byHostNumber.set(hostNumber, nodeName);
      const key = isIP(host) ? host.replace(/[.:]/g, '-') : host.split('.')[0];
      const containerName = `${s.clusterName}-${key}`;
      const same = byContainer.get(containerName);
      if (same) problems.push(`nodes: ${same} and ${nodeName} would both be container ${containerName} (named after the host's first label); use distinct first labels`);
      else byContainer.set(containerName, nodeName);
      return { nodeName, role: 'core' as const, host, address, address6: v6(hostNumber), containerName };
    });
    for (const p of problems) reportProblem(this, p);
    // Reported above; building on, a second node of one container name would be a second construct of one id.
    return nodes.filter((n) => byContainer.get(n.containerName) === n.nodeName);
  }

  /**
   * Replicants, counted: host numbers from `replicantsFirst` in order (their own range, so scaling
   * them moves no core), named like counted cores with `replicant` for `node`.
   */
  private declareReplicants(s: Spec): DeclaredNode[] {
    if (!s.replicants || s.discovery.strategy === 'manual') return [];
    const ipNamed = s.discovery.strategy === 'dns' && s.discovery.recordType === 'a';
    const { replicantsFirst, nodesLast } = this.addressPlan;
    const slots = nodesLast - replicantsFirst + 1;
    if (s.replicants > slots) reportProblem(this, `replicants: ${s.replicants} replicants do not fit in ${this.network.subnet} from host number ${replicantsFirst} (addressPlan.replicantsFirst) to ${nodesLast}`);
    return Array.from({ length: Math.max(0, Math.min(s.replicants, slots)) }, (_, i) => {
      const hostNumber = replicantsFirst + i;
      const address = this.network.addressAt(hostNumber);
      const nodeName = ipNamed ? `${s.nodeNamePrefix}@${address}` : `${s.nodeNamePrefix}@replicant${i + 1}.${this.domain}`;
      const address6 = s.network.ipv6Subnet ? this.network.address6At(hostNumber) : undefined;
      return { nodeName, role: 'replicant', host: parseNodeName(nodeName).host, address, address6, containerName: `${s.clusterName}-replicant${i + 1}` };
    });
  }

  /**
   * A and SRV records derived from the nodes, named relative to `zone` (the cluster's domain, or a
   * shared server's zone above it): one A per node host (replicants' too: cores dial them), and
   * for the cores only one A under the cluster name and one SRV each: discovery finds the cores,
   * so scaling replicants changes no answer a node gets.
   */
  private dnsRecords(nodes: DeclaredNode[], replicants: DeclaredNode[], zone: string): DnsRecord[] {
    const rel = (fqdn: string) => relativeName(fqdn, zone);
    const ipHost = (h: string) => /^[\d.]+$/.test(h);
    const records: DnsRecord[] = [];
    for (const n of [...nodes, ...replicants]) {
      if (!ipHost(n.host)) records.push({ name: rel(n.host), type: 'A', address: n.address });
      if (!ipHost(n.host) && n.address6) records.push({ name: rel(n.host), type: 'AAAA', address: n.address6 });
    }
    for (const n of nodes) records.push({ name: rel(`${this.clusterName}.${this.domain}`), type: 'A', address: n.address });
    for (const n of nodes) {
      // SRV targets must be names; IP-named nodes get one under their container name.
      if (ipHost(n.host)) records.push({ name: rel(`${n.containerName}.${this.domain}`), type: 'A', address: n.address });
      records.push({ name: rel(`_muster._tcp.${this.domain}`), type: 'SRV', port: this.port, target: rel(ipHost(n.host) ? `${n.containerName}.${this.domain}` : n.host) });
    }
    return records;
  }

  /** Rules across constructs, run by `cdktf synth` before anything is planned. */
  private crossChecks(): string[] {
    const errors: string[] = [];
    for (const other of TerraformStack.of(this).node.findAll()) {
      // Two clusters of one name would share containers' and volumes' names (and so their data).
      if (other instanceof MusterCluster && other !== this && other.clusterName === this.clusterName && other.node.path < this.node.path) {
        errors.push(`clusterName: '${this.clusterName}' is also the name of ${other.node.path} in this stack: container, volume and DNS names would collide; give each cluster its own`);
      }
    }
    const d = this.discovery;
    const names = new Set(this.nodes.map((n) => n.nodeName));
    const { nodesFirst, replicantsFirst } = this.addressPlan;
    if (this.replicants.length && replicantsFirst < nodesFirst) errors.push(`addressPlan.replicantsFirst: ${replicantsFirst} is below nodesFirst ${nodesFirst}; replicants take the host numbers after the cores'`);
    if (d.strategy === 'dns' && !this.dnsServer) {
      errors.push('discovery.strategy: dns needs a DnsServer in the cluster (dnsServer: true) to publish the nodes');
    }
    if (this.dnsServer) {
      const zone = this.dnsServer.zone;
      for (const n of [...this.nodes, ...this.replicants]) {
        if (!/^[\d.:]+$/.test(n.host) && n.host.replace(/\.$/, '') !== zone && !n.host.replace(/\.$/, '').endsWith(`.${zone}`)) {
          errors.push(`nodes: ${n.nodeName}'s host is outside the zone ${zone} of its DNS server, which cannot publish it; name it under ${zone}`);
        }
      }
    }
    if (d.strategy === 'dns' && d.recordType === 'a') {
      for (const n of this.nodes) {
        if (parseNodeName(n.nodeName).host !== n.address) {
          errors.push(`nodes: ${n.nodeName} must be named <name>@${n.address} with DNS A discovery (nodes are found as <name>@<ip>)`);
        }
      }
    }
    if (d.strategy === 'etcd' && this.etcdEndpoints.length === 0) {
      errors.push('discovery.endpoints: etcd discovery needs etcd endpoints: members >= 1 or endpoints [...]');
    }
    if (d.strategy === 'static') {
      for (const seed of d.seeds ?? []) if (!names.has(seed)) errors.push(`discovery.seeds: '${seed}' is not a declared node (declared: ${[...names].join(', ')})`);
    }
    // Addresses: each MusterNode checks its own against the subnet, and the network reports any
    // address two constructs use (nodes, the DNS server, etcd, the gateway, other clusters).
    return errors;
  }

  /** The nodes, cores then replicants, as the plan summary and outputs show them. */
  get declaredNodes(): DeclaredNode[] {
    return [...this.nodes, ...this.replicants].map((n) => ({ nodeName: n.nodeName, role: n.role, host: n.host, address: n.address, address6: n.address6, containerName: n.containerName }));
  }
}
