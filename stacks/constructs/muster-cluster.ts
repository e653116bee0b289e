import { z } from 'zod';
import { Construct } from '../lib/cdktf';
import { DEFAULT_CLUSTER_PORT, nodeNameProblem, parseNodeName } from '../../node-agent/src/contract';
import type { AgentSettings } from '../lib/agent-env';
import { isIP } from 'node:net';
import { ipv4ToInt, parseProps, requireCookieToken } from '../lib/validation';
import { addCheck, reportProblem } from '../lib/problems';
import { DockerImage, TerraformStack, type TerraformProvider } from '../lib/cdktf';
import { providerOf, useProvider } from '../lib/provider';
import { AgentImage } from './agent-image';
import { ClusterNetwork } from './cluster-network';
import { DnsServer } from './dns-server';
import { relativeName, type DnsRecord } from './dns-zone';
import { EtcdCluster } from './etcd-cluster';
import { MusterNode } from './muster-node';
import { httpEndpointOf, type HttpEndpoint } from '../lib/http-endpoint';

/** How the nodes find each other: the agent's `cluster.discovery_strategy` and its settings. */
export type DiscoveryProps =
  | { readonly strategy: 'manual' }
  /** `seeds` default to every declared node; if given, each must be a declared node. */
  | { readonly strategy: 'static'; readonly seeds?: readonly string[] }
  /** `a`: nodes are named `<name>@<ip>` and found by the cluster name's A records; `srv`: by `_muster._tcp.<domain>`. */
  | { readonly strategy: 'dns'; readonly recordType: 'a' | 'srv' }
  /** `members` etcd containers (default 1), or external `endpoints` with `members: 0`. */
  | { readonly strategy: 'etcd'; readonly members?: number; readonly endpoints?: readonly string[]; readonly prefix?: string; readonly nodeTtl?: string };

export interface MusterClusterImages {
  /** Base image of the node image (the Dockerfile's `BASE_IMAGE`). @default 'node:24-bookworm-slim' (DEFAULT_IMAGES.nodeBase) */
  readonly nodeBase?: string;
  /** Build context of the node image. @default the repository's dist/image */
  readonly nodeContextPath?: string;
  /** Name and tag of the built node image. @default '<clusterName>-node:<stack id>-<context hash>' */
  readonly nodeName?: string;
  /** BIND 9 image. @default 'internetsystemsconsortium/bind9:9.18' */
  readonly dns?: string;
  /** etcd image. @default 'gcr.io/etcd-development/etcd:v3.5.17' */
  readonly etcd?: string;
}

export interface MusterClusterProps {
  /** The agent's `cluster.name`. @default 'muster' */
  readonly clusterName?: string;
  /**
   * A node count (names `<nodeNamePrefix>@node<i>.<domain>`, or `@<ip>` for DNS A discovery), or
   * explicit node names. A node's identity is its name: its construct id, container, data volume
   * and address follow from the name, never from its place in the list, so removing a node from
   * the middle or adding one touches no other node.
   */
  readonly nodes?: number | readonly string[];
  /**
   * The core nodes (EMQX 5's `coreTemplate` replicas): the same as `nodes`, the name to use once a
   * cluster has replicants. Give `cores` or `nodes`, not both.
   */
  readonly cores?: number | readonly string[];
  /**
   * How many replicant nodes (`node.role = replicant`, EMQX's `replicantTemplate` replicas): named
   * `<nodeNamePrefix>@replicant<i>.<domain>` (`@<ip>` with DNS A discovery), containers
   * `<clusterName>-replicant<i>`, at host numbers from `addressPlan.replicantsFirst`. Each links to
   * two cores found by discovery (not with `manual`); nothing a core's container holds depends on
   * them, so scaling replicants replaces no core. @default 0
   */
  readonly replicants?: number;
  /** Name part of generated node names. @default 'muster' */
  readonly nodeNamePrefix?: string;
  /** DNS zone of the node hosts and of the DNS server. @default '<clusterName>.internal' */
  readonly domain?: string;
  readonly discovery: DiscoveryProps;
  /** The cookie: a sensitive TerraformVariable's value. A literal string is refused. */
  readonly cookie: string;
  /**
   * The Docker network: settings for a network of the cluster's own, or an existing
   * `ClusterNetwork` that several clusters share (give each its own `addressPlan` range; synth fails
   * naming both when two use one address).
   * @default a network of its own: name '<clusterName>-net', subnet '10.28.0.0/24'
   */
  readonly network?: ClusterNetwork | { readonly name?: string; readonly subnet?: string; readonly ipv6Subnet?: string };
  /**
   * Host numbers in the network's subnet: the DNS server, the first etcd member, and the range of
   * the nodes. Clusters sharing a network give each other's nodes distinct ranges.
   * Replicants take host numbers from `replicantsFirst` up, in order, in a range of their own so
   * that scaling them moves no core.
   * @default ADDRESS_PLAN: { dns: 2, etcdFirst: 3, nodesFirst: 10, nodesLast: the subnet's last, replicantsFirst: 110 }
   */
  readonly addressPlan?: { readonly dns?: number; readonly etcdFirst?: number; readonly nodesFirst?: number; readonly nodesLast?: number; readonly replicantsFirst?: number };
  /**
   * The node image: an `AgentImage` several clusters share, or a prebuilt image reference from a
   * registry (pulled, not built), e.g. 'registry.example.com/muster-node:0.1.0'.
   * @default an AgentImage of its own, built from the kit's node-agent/Dockerfile (see `images`)
   */
  readonly image?: AgentImage | string;
  /**
   * Fixed addresses for explicit node names. Counted nodes get host numbers 10, 11, ... in order;
   * an explicit name without an address gets a host number from a hash of the name (stable whatever
   * else the list holds), and synth fails naming both nodes if two names hash alike. @default {}
   */
  readonly addresses?: Readonly<Record<string, string>>;
  /** The agents' `cluster.port`. @default 4370 */
  readonly port?: number;
  /** Images, every one overridable (air-gapped hosts, tests with local images). @default official images */
  readonly images?: MusterClusterImages;
  /**
   * The BIND 9 server: `true` for one of the cluster's own, `false` for none, or an existing
   * `DnsServer` that several clusters share (each adds its records; the cluster's `domain` must be
   * the server's zone or under it, and defaults to `<clusterName>.<zone>`).
   * @default true with the dns strategy, else false
   */
  readonly dnsServer?: boolean | DnsServer;
  /**
   * How nodes connect (`cluster.proto_dist`). The TLS variants need `tlsDir`, an absolute directory
   * on the Docker host with a folder per node host, `<host>/` holding `ca.crt`, `tls.crt` (SAN = the
   * host) and `tls.key` (see `MusterNodeProps.tlsDir`); the IPv6 variants need
   * `network.ipv6Subnet`. @default { protoDist: 'inet_tcp' }
   */
  readonly transport?: { readonly protoDist?: 'inet_tcp' | 'inet6_tcp' | 'inet_tls' | 'inet6_tls'; readonly tlsDir?: string };
  /**
   * With `static` discovery and no `seeds`, how many of the nodes (the first ones declared) are the
   * seeds. A subset rather than every node, so adding a node changes no running node's settings
   * (a container's `env` is ForceNew: a changed seed list would replace every node); the others
   * learn the rest through membership. @default 3
   */
  readonly staticSeedCount?: number;
  /**
   * The agents' `cluster.ready_min_nodes`: a node is ready (its healthcheck passes, so `cdktf
   * deploy` returns) once it is a synced member of a cluster of at least this many. 2 means the
   * nodes found each other, not merely started, and stays the same as nodes are added (a changed
   * value would replace every node). Manual clusters form by `cluster join` after the deploy.
   * @default 2 with static, dns and etcd discovery (1 for a single node); 1 with manual
   */
  readonly readyMinNodes?: number;
  /**
   * More agent settings for every node, typed from the agent's schema, e.g.
   * `{ 'log.level': 'debug', 'cluster.autoheal': false, 'cluster.autoclean': '1h',
   * 'cluster.failure_detector.probe_timeout': '2s' }`. Checked at synth by the agent's own loader.
   * The keys the kit derives from the other props (KIT_OWNED_SETTINGS) are refused here.
   * @default {}
   */
  readonly agentSettings?: AgentSettings;
  /** The nodes' data volumes on removal: see `MusterNodeProps.dataRemovalPolicy`. @default 'destroy' */
  readonly dataRemovalPolicy?: 'destroy' | 'retain';
  /**
   * The Docker provider (host) of every resource the cluster makes. A shared network, DNS server
   * or image must be on the same one (synth says so otherwise).
   * @default the stack's default docker provider
   */
  readonly provider?: TerraformProvider;
}

/** Settings the kit derives itself: set through the props that own them, never in `agentSettings`. */
export const KIT_OWNED_SETTINGS = ['node.', 'cluster.name', 'cluster.port', 'cluster.proto_dist', 'cluster.discovery_strategy', 'cluster.static.', 'cluster.dns.', 'cluster.etcd.', 'cluster.k8s.', 'cluster.ssl.', 'cluster.ready_min_nodes'] as const;

/** Why `key` may not be given in `agentSettings` (the prop that owns it), or undefined when it may. */
export function kitOwnedProblem(key: string): string | undefined {
  const owned = KIT_OWNED_SETTINGS.find((p) => (p.endsWith('.') ? key.startsWith(p) : key === p));
  return owned && `is set by the kit from the props (${owned}${owned.endsWith('.') ? '*' : ''}): use those, not agentSettings`;
}

const nodeName = z.string().superRefine((v, ctx) => {
  const p = nodeNameProblem(v);
  if (p) ctx.addIssue({ code: 'custom', message: p });
});

const hostNumber = z.number().int().min(2, 'must be 2 or more (1 is the gateway)');

// Strict at every level: an unknown or misspelled prop (`seed` for `seeds`) is an error, not ignored.
const specSchema = z
  .strictObject({
    cookie: z.string(),
    image: z.unknown().optional(),
    clusterName: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "must be lower-case letters, digits or '-' (it names containers and DNS records)").default('muster'),
    nodes: z.union([z.number().int().min(1, 'a cluster needs at least 1 node').max(200, 'at most 200 nodes'), z.array(nodeName).min(1, 'a cluster needs at least 1 node')]),
    cores: z.unknown().optional(),
    replicants: z.number().int('must be a whole number').min(0, 'must be 0 or more').max(200, 'at most 200 replicants').default(0),
    nodeNamePrefix: z.string().regex(/^[A-Za-z0-9_-]+$/, "must be letters, digits, '_' or '-'").default('muster'),
    domain: z.string().optional(),
    discovery: z.discriminatedUnion('strategy', [
      z.strictObject({ strategy: z.literal('manual') }),
      z.strictObject({ strategy: z.literal('static'), seeds: z.array(nodeName).optional() }),
      z.strictObject({ strategy: z.literal('dns'), recordType: z.enum(['a', 'srv']) }),
      z.strictObject({
        strategy: z.literal('etcd'),
        members: z.number().int().min(0).max(7, 'at most 7 etcd members (host numbers 3-9)').default(1),
        endpoints: z.array(z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL of an etcd member, e.g. http://10.0.0.5:2379' })).optional(),
        prefix: z.string().min(1).default('muster'),
        // The agent's own rule checks it (agentEnvProblems at synth), so kit and agent never disagree.
        nodeTtl: z.string().default('1m'),
      }),
    ]),
    network: z.strictObject({ name: z.string().optional(), subnet: z.string().optional(), ipv6Subnet: z.string().optional() }).default({}),
    transport: z
      .strictObject({ protoDist: z.enum(['inet_tcp', 'inet6_tcp', 'inet_tls', 'inet6_tls']).default('inet_tcp'), tlsDir: z.string().min(1).optional() })
      .default({ protoDist: 'inet_tcp' }),
    addresses: z.record(z.string(), z.string()).default({}),
    port: z.number().int().min(1, 'must be 1-65535').max(65535, 'must be 1-65535').default(DEFAULT_CLUSTER_PORT),
    images: z
      .strictObject({ nodeBase: z.string().optional(), nodeContextPath: z.string().optional(), nodeName: z.string().optional(), dns: z.string().optional(), etcd: z.string().optional() })
      .default({}),
    dnsServer: z.boolean().optional(),
    addressPlan: z
      .strictObject({ dns: hostNumber.optional(), etcdFirst: hostNumber.optional(), nodesFirst: hostNumber.optional(), nodesLast: hostNumber.optional(), replicantsFirst: hostNumber.optional() })
      .default({}),
    staticSeedCount: z.number().int().min(1, 'at least one seed').default(3),
    readyMinNodes: z.number().int().min(1, 'must be at least 1').optional(),
    dataRemovalPolicy: z.enum(['destroy', 'retain']).default('destroy'),
    provider: z.unknown().optional(),
    agentSettings: z
      .record(z.string(), z.unknown())
      .superRefine((o, ctx) => {
        for (const k of Object.keys(o)) {
          const problem = kitOwnedProblem(k);
          if (problem) ctx.addIssue({ code: 'custom', path: [k], message: problem });
        }
      })
      .default({}),
  })
  .superRefine((s, ctx) => {
    if (s.transport.protoDist.endsWith('_tls') && !s.transport.tlsDir) {
      ctx.addIssue({ code: 'custom', path: ['transport', 'tlsDir'], message: `is required with protoDist ${s.transport.protoDist}: a directory with a folder <host>/ holding ca.crt, tls.crt and tls.key per node` });
    }
    if (s.transport.protoDist.startsWith('inet6') && !s.network.ipv6Subnet) {
      ctx.addIssue({ code: 'custom', path: ['network', 'ipv6Subnet'], message: `is required with protoDist ${s.transport.protoDist}` });
    }
    if (s.transport.protoDist.startsWith('inet6') && s.discovery.strategy === 'dns' && s.discovery.recordType === 'a') {
      ctx.addIssue({ code: 'custom', path: ['discovery', 'recordType'], message: 'DNS A discovery names nodes by IPv4 address; use srv with IPv6' });
    }
    const count = Array.isArray(s.nodes) ? s.nodes.length : (s.nodes as number);
    if (s.readyMinNodes !== undefined && s.readyMinNodes > count) {
      ctx.addIssue({ code: 'custom', path: ['readyMinNodes'], message: `${s.readyMinNodes} is more than the ${count} declared node(s): no node would ever be ready and every deploy would time out` });
    }
    if (s.replicants > 0 && s.discovery.strategy === 'manual') {
      ctx.addIssue({ code: 'custom', path: ['replicants'], message: 'need static, dns or etcd discovery: a replicant finds its cores through discovery, and manual clustering (cluster join) is for core nodes only' });
    }
    if (s.readyMinNodes !== undefined && s.readyMinNodes > 1 && s.discovery.strategy === 'manual') {
      ctx.addIssue({ code: 'custom', path: ['readyMinNodes'], message: 'must be 1 with manual discovery: the nodes form only by `cluster join` after the deploy, which waits for them to be ready' });
    }
    if (Array.isArray(s.nodes)) {
      const seen = new Set<string>();
      const hosts = new Set<string>();
      s.nodes.forEach((n, i) => {
        if (seen.has(n)) ctx.addIssue({ code: 'custom', path: ['nodes', i], message: `duplicate node name '${n}'` });
        const host = n.slice(n.indexOf('@') + 1);
        if (!seen.has(n) && hosts.has(host)) ctx.addIssue({ code: 'custom', path: ['nodes', i], message: `duplicate host '${host}': two nodes cannot listen on the same host` });
        seen.add(n);
        hosts.add(host);
      });
      for (const k of Object.keys(s.addresses)) {
        if (!seen.has(k)) ctx.addIssue({ code: 'custom', path: ['addresses', k], message: `'${k}' is not a declared node` });
      }
    }
  });

type Spec = z.output<typeof specSchema>;

/** FNV-1a of a node name: its host number when the user gave it no address. */
function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (const c of Buffer.from(name, 'utf8')) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  return h;
}

/** Host numbers in the network (see docs/architecture.md, "The kit"). */
export const ADDRESS_PLAN = { dns: 2, etcdFirst: 3, nodesFirst: 10, replicantsFirst: 110 } as const;

/** A declared node with everything the plan summary shows about it. */
export interface DeclaredNode {
  readonly nodeName: string;
  /** `node.role`. */
  readonly role: 'core' | 'replicant';
  readonly host: string;
  readonly address: string;
  readonly address6?: string;
  readonly containerName: string;
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
