// zod's v3 API: the agent's schemas need nothing newer, and it costs each agent ~1.8 MB of memory
// where v4 costs ~11 MB (the kit, a short-lived process, uses v4).
import { z } from 'zod/v3';
import { DURATION_RULE, formatDuration, parseDuration } from './duration';
import { ipFamily } from './ip-family';
import { nodeNameProblem } from './node-name';
import { DEFAULT_CLUSTER_PORT, DEFAULT_HTTP_PORT } from './defaults';

/**
 * The whole agent configuration: one schema, every key with its default.
 * Keys follow EMQX's `emqx.conf` (`node.*`, `cluster.*`); README.md lists them for users.
 */

export const PROTO_DISTS = ['inet_tcp', 'inet6_tcp', 'inet_tls', 'inet6_tls'] as const;
export const DISCOVERY_STRATEGIES = ['manual', 'static', 'dns', 'etcd', 'k8s'] as const;
/** EMQX 5's node roles (Mria): cores hold the cluster and its data; replicants keep a copy and link to a few cores. */
export const NODE_ROLES = ['core', 'replicant'] as const;
export type NodeRole = (typeof NODE_ROLES)[number];
export const DNS_RECORD_TYPES = ['a', 'aaaa', 'srv'] as const;
export const K8S_ADDRESS_TYPES = ['ip', 'dns', 'hostname'] as const;
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** The longest timer Node.js keeps (2^31 - 1 ms, about 24.8 days); a longer one fires at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * A duration string turned into milliseconds, within [min, max]: `min` guards against values that
 * would spin, `max` against ones that make no sense for the key (and never past what a timer holds).
 */
function duration(min = 0, max = MAX_TIMER_MS) {
  return z.string().transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `'${v}' ${DURATION_RULE}` });
      return z.NEVER;
    }
    if (ms < min) {
      ctx.addIssue({ code: 'custom', message: `'${v}' is too short: at least ${min}ms` });
      return z.NEVER;
    }
    if (ms > max) {
      ctx.addIssue({ code: 'custom', message: `'${v}' is too long: at most ${formatDuration(max)}` });
      return z.NEVER;
    }
    return ms;
  });
}

function oneOf<T extends readonly [string, ...string[]]>(values: T) {
  // Strategy and protocol names are matched case-insensitively (the seed page writes `K8s`).
  return z.preprocess((v) => (typeof v === 'string' ? v.toLowerCase() : v), z.enum(values));
}

function isHttpUrl(v: string): boolean {
  try {
    const url = new URL(v);
    return (url.protocol === 'http:' || url.protocol === 'https:') && !!url.hostname;
  } catch {
    return false;
  }
}

/** The seed page writes the block as `K8s { }`; keys are otherwise lower case. */
export function renameK8s(v: unknown): unknown {
  if (v && typeof v === 'object' && !Array.isArray(v) && 'K8s' in v && !('k8s' in v)) {
    const { K8s, ...rest } = v as Record<string, unknown>;
    return { ...rest, k8s: K8s };
  }
  return v ?? {};
}

/**
 * Built when a configuration is loaded and dropped after: its few hundred zod objects would
 * otherwise stay in every agent's memory for its whole life (about 0.4 MB), for one parse at start.
 */
export function configSchema() {
  const nodeName = z.string().superRefine((v, ctx) => {
    const problem = nodeNameProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

  /** `ip:port`, `[ipv6]:port` or a bare IP (port 53): a DNS server to ask. */
  const dnsServer = z.string().superRefine((v, ctx) => {
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(v) ?? /^([^:]+)(?::(\d+))?$/.exec(v) ?? (ipFamily(v) === 6 ? [v, v, undefined] : null);
    const port = m?.[2] === undefined ? 53 : Number(m[2]);
    if (!m || !ipFamily(m[1]) || port < 1 || port > 65535) {
      ctx.addIssue({ code: 'custom', message: `'${v}' must be an IP address with an optional port: 127.0.0.1:5353, [::1]:53 or 10.0.0.2` });
    }
  });

  /** One http(s) URL, or several separated by commas (the seed page's `server` form). */
  const etcdServers = z.string().transform((v, ctx) => {
    const urls = v.split(',').map((u) => u.trim()).filter(Boolean);
    if (!urls.length) ctx.addIssue({ code: 'custom', message: 'must name at least one URL, e.g. http://127.0.0.1:2379' });
    for (const u of urls) {
      if (!isHttpUrl(u)) ctx.addIssue({ code: 'custom', message: `'${u}' is not an http:// or https:// URL (e.g. http://127.0.0.1:2379)` });
    }
    return urls;
  });

  /** One http:// or https:// URL (the Kubernetes API server). */
  const httpUrl = z.string().refine(isHttpUrl, 'must be an http:// or https:// URL');

  /** `cluster.autoclean`: a duration, or `0` / `off` to disable (0 ms). */
  const autoclean = z.union([z.string(), z.number()]).transform((v, ctx) => {
    if (v === 0 || v === '0' || v === 'off' || v === 'false') return 0;
    const ms = typeof v === 'string' ? parseDuration(v) : undefined;
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `'${v}' must be a duration such as 24h or 30s, or 0 / off to disable` });
      return z.NEVER;
    }
    if (ms > 365 * 86_400_000) {
      ctx.addIssue({ code: 'custom', message: `'${v}' is too long: at most 365d (or 0 / off to disable)` });
      return z.NEVER;
    }
    return ms;
  });

  const failureDetectorSchema = z.strictObject({
    /** Each node probes one member per interval. Lower detects sooner; the cost per node stays constant in N. */
    probe_interval: duration(50, 60_000).default('1s'),
    /** How long a probe, and then each member's own check, may go unanswered. A member must be silent
     *  through both windows to show stopped, so together they cover GC pauses, CPU starvation and stalls
     *  of up to 2 x this; a dead member shows stopped within about interval + 2 x this. */
    probe_timeout: duration(200, 60_000).default('1s'),
  });

  return z.strictObject({
    // A missing `node` block reports node.name and node.cookie as required, not `node`.
    node: z.preprocess((v) => v ?? {}, z.strictObject({
      /** `name@host`; the node listens on `host` at `cluster.port`. */
      name: nodeName,
      /** Shared secret of the cluster. Never sent over the wire; there is no default. */
      cookie: z.string().min(1, 'must not be empty').optional(),
      /**
       * Or a file holding it (Muster's addition, like Erlang's .erlang.cookie): a deployment can
       * then keep the secret out of the environment, and out of the settings a plan shows.
       */
      cookie_file: z.string().min(1, 'must not be empty').optional(),
      /** Where membership and data persist. Default: ./data/<node name>. */
      data_dir: z.string().min(1).optional(),
      /**
       * `core` (the default) forms the cluster and holds its data; `replicant` (EMQX 5's Mria role)
       * links to a few cores found by discovery, keeps a copy of the data for reads and hands every
       * write to a core. Replicants can come and go without changing the cluster's redundancy.
       */
      role: oneOf(NODE_ROLES).default('core'),
    }).superRefine((n, ctx) => {
      if (n.cookie === undefined && n.cookie_file === undefined) ctx.addIssue({ code: 'custom', path: ['cookie'], message: 'is required (or node.cookie_file, a file that holds it)' });
      if (n.cookie !== undefined && n.cookie_file !== undefined) ctx.addIssue({ code: 'custom', path: ['cookie_file'], message: 'set either node.cookie or node.cookie_file, not both' });
    })),
    cluster: z.preprocess(renameK8s, z
      .strictObject({
        name: z.string().regex(/^[A-Za-z0-9_.-]+$/, "must be letters, digits, '_', '-' or '.'").default('muster'),
        port: z.number().int('must be a whole number').min(1, 'must be 1-65535').max(65535, 'must be 1-65535').default(DEFAULT_CLUSTER_PORT),
        proto_dist: oneOf(PROTO_DISTS).default('inet_tcp'),
        discovery_strategy: oneOf(DISCOVERY_STRATEGIES).default('manual'),
        failure_detector: failureDetectorSchema.default({}),
        /** Remove members stopped for longer than this, as force-leave would (0 disables). */
        autoclean: autoclean.default('24h'),
        /** After a partition, become one cluster again by themselves (false: stay apart, status says so). */
        autoheal: z.boolean().default(true),
        /** `muster ctl cluster ready` needs at least this many running members. */
        ready_min_nodes: z.number().int('must be a whole number').min(1, 'must be at least 1').default(1),
        static: z.strictObject({ seeds: z.array(nodeName).default([]) }).default({}),
        /** TLS between nodes (inet_tls, inet6_tls): mutual, verify_peer, SAN = the host of the node name. */
        ssl: z
          .strictObject({
            certfile: z.string().min(1).optional(),
            keyfile: z.string().min(1).optional(),
            cacertfile: z.string().min(1).optional(),
            verify: z.enum(['verify_peer'], { errorMap: () => ({ message: 'only verify_peer: Muster never falls back to an unverified connection' }) }).default('verify_peer'),
            server_name_indication: z.string().min(1).optional(),
            ciphers: z.string().min(1).optional(),
            versions: z.array(z.enum(['tlsv1.2', 'tlsv1.3'])).min(1).default(['tlsv1.2', 'tlsv1.3']),
          })
          .default({}),
        dns: z
          .strictObject({
            /** Queried exactly as written: an A name, or an SRV name such as _muster._tcp.example.com. */
            name: z.string().min(1).optional(),
            record_type: oneOf(DNS_RECORD_TYPES).default('a'),
            /** Ask these servers instead of the system resolver, also for node host names (Muster's addition). */
            servers: z.array(dnsServer).optional(),
          })
          .default({}),
        etcd: z
          .strictObject({
            server: etcdServers.optional(),
            prefix: z.string().min(1).default('muster'),
            node_ttl: duration(1000, 86_400_000).default('60s'),
            username: z.string().optional(),
            password: z.string().optional(),
            ssl: z
              .strictObject({ certfile: z.string().optional(), keyfile: z.string().optional(), cacertfile: z.string().optional() })
              .optional(),
          })
          .default({}),
        k8s: z
          .strictObject({
            apiserver: httpUrl.default('https://kubernetes.default.svc'),
            service_name: z.string().min(1).default('muster'),
            address_type: oneOf(K8S_ADDRESS_TYPES).default('ip'),
            suffix: z.string().min(1).default('pod.local'),
            namespace: z.string().min(1).default('default'),
            /** Service-account credentials; the standard in-pod paths by default. */
            token_file: z.string().default('/var/run/secrets/kubernetes.io/serviceaccount/token'),
            ca_file: z.string().default('/var/run/secrets/kubernetes.io/serviceaccount/ca.crt'),
          })
          .default({}),
      })
      .superRefine((c, ctx) => {
        // Each strategy's prerequisite, named with the strategy that needs it.
        const need = (ok: boolean, path: string[], what: string) => {
          if (!ok) ctx.addIssue({ code: 'custom', path, message: `is required when discovery_strategy = ${c.discovery_strategy} (${what})` });
        };
        if (c.discovery_strategy === 'static') need(c.static.seeds.length > 0, ['static', 'seeds'], 'the node names of the cluster');
        if (c.discovery_strategy === 'dns') need(!!c.dns.name, ['dns', 'name'], 'the DNS name to query');
        if (c.discovery_strategy === 'etcd') need(!!c.etcd.server, ['etcd', 'server'], 'one etcd URL or a comma-separated list');
        if (c.proto_dist.endsWith('_tls')) {
          for (const f of ['certfile', 'keyfile', 'cacertfile'] as const) {
            if (!c.ssl[f]) ctx.addIssue({ code: 'custom', path: ['ssl', f], message: `is required when proto_dist = ${c.proto_dist} (PEM file)` });
          }
        }
        if (c.etcd.ssl && (!!c.etcd.ssl.certfile !== !!c.etcd.ssl.keyfile)) {
          ctx.addIssue({ code: 'custom', path: ['etcd', 'ssl'], message: 'certfile and keyfile go together' });
        }
      })
      .default({})),
    /**
     * The read-only HTTP listener (EMQX's dashboard listener is where its probes and metrics are):
     * `/status` for probes, `/metrics` for Prometheus, `/api/v1` and the cluster page. Nothing on it
     * changes the cluster; that stays with `muster ctl` and the cookie.
     */
    http: z
      .strictObject({
        enable: z.boolean().default(true),
        port: z.number().int('must be a whole number').min(1, 'must be 1-65535').max(65535, 'must be 1-65535').default(DEFAULT_HTTP_PORT),
        /** The address to listen on. Default: the node's own address (the host of its name); `0.0.0.0` or `::` for every interface. */
        bind: z.string().refine((v) => ipFamily(v) !== 0, 'must be an IP address, e.g. 0.0.0.0, :: or 10.0.0.5').optional(),
        /** HTTPS with the node's certificate and key (cluster.ssl.certfile and keyfile); clients are not asked for a certificate. */
        tls: z.boolean().default(false),
      })
      .default({}),
    log: z.strictObject({ level: oneOf(LOG_LEVELS).default('info') }).default({}),
  }).superRefine((c, ctx) => {
    if (c.node.role === 'replicant' && c.cluster.discovery_strategy === 'manual') {
      ctx.addIssue({
        code: 'custom',
        path: ['node', 'role'],
        message: `replicant needs cluster.discovery_strategy = static, dns, etcd or k8s (it is manual): a replicant finds its core nodes through discovery, and manual clustering (cluster join) is for core nodes only`,
      });
    }
    if (c.http.enable && c.http.port === c.cluster.port) {
      ctx.addIssue({ code: 'custom', path: ['http', 'port'], message: `must differ from cluster.port (${c.cluster.port}): the node listens for its cluster there` });
    }
    if (c.http.tls) {
      for (const f of ['certfile', 'keyfile', 'cacertfile'] as const) {
        if (!c.cluster.ssl[f]) ctx.addIssue({ code: 'custom', path: ['cluster', 'ssl', f], message: 'is required when http.tls = true (the listener serves the node\'s certificate)' });
      }
    }
  });
}

type Parsed = z.output<ReturnType<typeof configSchema>>;
export type Config = Parsed & { node: Parsed['node'] & { data_dir: string; cookie: string } };

/** IPv6 for inet6_tcp and inet6_tls. */
export function familyOf(cfg: Config): 4 | 6 {
  return cfg.cluster.proto_dist.startsWith('inet6') ? 6 : 4;
}

/** What TLS needs of the config (transport/tls.ts uses it). */
export interface TlsSettings {
  certfile: string;
  keyfile: string;
  cacertfile: string;
  /** Only `verify_peer`: Muster never falls back to an unverified connection. */
  verify: 'verify_peer';
  /** SNI sent when dialing: the peer's host by default, a fixed name, or `disable`. */
  server_name_indication?: string;
  ciphers?: string;
  versions: ('tlsv1.2' | 'tlsv1.3')[];
}

/** The TLS settings when proto_dist is inet_tls or inet6_tls (the schema made the files required). */
export function tlsSettingsOf(cfg: Config): TlsSettings | undefined {
  if (!cfg.cluster.proto_dist.endsWith('_tls')) return undefined;
  return certificateSettingsOf(cfg);
}

/** cluster.ssl's settings, for whatever needs the node's certificate (the cluster port, or the HTTP listener with http.tls). */
export function certificateSettingsOf(cfg: Config): TlsSettings {
  const s = cfg.cluster.ssl;
  return { certfile: s.certfile!, keyfile: s.keyfile!, cacertfile: s.cacertfile!, verify: s.verify, server_name_indication: s.server_name_indication, ciphers: s.ciphers, versions: s.versions };
}
