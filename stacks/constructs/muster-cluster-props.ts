import { z } from 'zod';
import { DEFAULT_CLUSTER_PORT, nodeNameProblem } from '../../node-agent/src/contract';
import type { AgentSettings } from '../lib/agent-env';
import type { TerraformProvider } from '../lib/cdktf';
import type { AgentImage } from './agent-image';
import type { ClusterNetwork } from './cluster-network';
import type { DnsServer } from './dns-server';

/**
 * What a MusterCluster is declared with: its props, their validation (one strict zod schema, so a
 * misspelled prop is an error) and the network's address plan. The construct is muster-cluster.ts.
 */

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
export const specSchema = z
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

export type Spec = z.output<typeof specSchema>;

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

