import { createHash } from 'node:crypto';
import { z } from 'zod';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Construct, DockerContainer, DockerVolume, Fn, Token, type ITerraformDependable, type TerraformProvider } from '../lib/cdktf';
import { useProvider } from '../lib/provider';
import { agentEnvProblems, IMAGE_DATA_DIR, IMAGE_HEALTHCHECK, nodeNameProblem, parseNodeName } from '../../node-agent/src/contract';
import { agentEnv, type AgentSettings } from '../lib/agent-env';
import { inSubnet, parseProps, requireCookieToken } from '../lib/validation';
import { addCheck, reportProblem } from '../lib/problems';
import type { ClusterNetwork } from './cluster-network';

export interface MusterNodeProps {
  readonly network: ClusterNetwork;
  /** `name@host`; the container's hostname and network alias are `host`. */
  readonly nodeName: string;
  /** The node's fixed address on the network. */
  readonly address: string;
  /** Its IPv6 address, on a dual-stack network. @default none */
  readonly address6?: string;
  /**
   * Mutual TLS: an absolute directory on the Docker host (often a TerraformVariable) with one folder
   * per node host, `<tlsDir>/<host>/`, holding `ca.crt`, `tls.crt` and `tls.key` (the names of a
   * Kubernetes TLS secret). Only the node's own folder is bind-mounted, read-only, at
   * `/etc/muster/tls`: no key enters the synthesized JSON, the plan or the state, no node sees
   * another's key, and renewed files reach the running agent, which reloads them (no replacement).
   * The key must be readable by uid 1000 only (`chown 1000:1000`, mode 0600). @default none (plain TCP)
   */
  readonly tlsDir?: string;
  /** `AgentImage.imageId` (the ID, so a rebuilt image replaces the container). */
  readonly imageId: string;
  /** The cookie: a token of a sensitive TerraformVariable, never a literal. */
  readonly cookie: string;
  /**
   * Agent configuration keys besides `node.name` and `node.cookie` (e.g. `cluster.discovery_strategy`),
   * passed as `MUSTER_*` variables.
   * @default {}
   */
  readonly settings?: AgentSettings;
  /** Container name. @default the host part's first label */
  readonly containerName?: string;
  /** Docker restart policy. @default 'unless-stopped' */
  readonly restart?: 'no' | 'on-failure' | 'always' | 'unless-stopped';
  /** Resources to create first (the DNS server, etcd). @default the network */
  readonly dependsOn?: ITerraformDependable[];
  /**
   * `cdktf deploy` waits until the node is ready (its healthcheck, `muster ctl cluster ready`,
   * passes), failing after `waitTimeoutSeconds`. @default true
   */
  readonly waitReady?: boolean;
  /** @default NODE_TIMINGS.waitTimeoutSeconds (120) */
  readonly waitTimeoutSeconds?: number;
  /**
   * What happens to the node's data volume when the node is removed or the stack destroyed (as
   * aws-cdk's `removalPolicy`): `destroy` deletes it with the node; `retain` keeps it. A retained
   * volume is not a Terraform resource at all: the container names it and Docker creates it on
   * first use, so no plan ever deletes it, and a node of the same name declared again finds its
   * data. Remove a retained volume with `docker volume rm <container>-data`.
   * @default 'destroy'
   */
  readonly dataRemovalPolicy?: 'destroy' | 'retain';
  /** The Docker provider (host) its resources use. @default the stack's default docker provider */
  readonly provider?: TerraformProvider;
  /**
   * `node.role`: a replicant gets `MUSTER_NODE__ROLE=replicant` and a `muster.role` label; a core
   * gets neither, so a core's container is the same as before roles existed. @default 'core'
   */
  readonly role?: 'core' | 'replicant';
}

const propsSchema = z.object({
  nodeName: z.string().superRefine((v, ctx) => {
    const p = nodeNameProblem(v);
    if (p) ctx.addIssue({ code: 'custom', message: p });
  }),
  address: z.string(),
  containerName: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be a Docker container name').optional(),
  restart: z.enum(['no', 'on-failure', 'always', 'unless-stopped']).default('unless-stopped'),
  tlsDir: z
    .string()
    .refine((d) => Token.isUnresolved(d) || path.isAbsolute(d), 'must be an absolute path on the Docker host (it is bind-mounted)')
    .optional(),
  waitReady: z.boolean().default(true),
  waitTimeoutSeconds: z.number().int().min(1).optional(),
  dataRemovalPolicy: z.enum(['destroy', 'retain']).default('destroy'),
  provider: z.unknown().optional(),
  role: z.enum(['core', 'replicant']).default('core'),
});

/** How a node container is started and stopped; each value with why. */
export const NODE_TIMINGS = {
  /**
   * SIGTERM, then this long before Docker kills a node that is replaced or destroyed. The agent's
   * orderly stop (a goodbye on each link, at most 0.5 s, and a state write) takes about a second;
   * 10 s is Docker's own `docker stop` default. Without it the provider removes the container with
   * force (SIGKILL) and the peers see the node lost, not stopped.
   */
  destroyGraceSeconds: 10,
  /**
   * How long `cdktf deploy` waits for a node to be ready. Readiness needs the node to be a
   * synced member of its cluster: seconds on an idle host, more while discovery waits for DNS
   * or etcd to come up, and the first healthcheck runs 5 s after start.
   */
  waitTimeoutSeconds: 120,
} as const;

/** The node image's healthcheck (readiness), from the contract; the container repeats it for `wait`. */
export const NODE_HEALTHCHECK = { ...IMAGE_HEALTHCHECK, test: [...IMAGE_HEALTHCHECK.test] };

/** Where a node's certificate, key and the cluster CA are put in the container. */
export const TLS_DIR = '/etc/muster/tls';
/**
 * Where the cookie is put in the container (`node.cookie_file`). An `upload`, not `env`: Terraform
 * shows a whole attribute as `(sensitive value)` when any part comes from a sensitive variable, so
 * a cookie in `env` would hide every setting from plan review; in its own upload it hides only
 * itself. World-readable inside the container only: the provider writes uploads as root, and the
 * agent runs as uid 1000.
 */
export const COOKIE_FILE = '/etc/muster/cookie';

/** One Muster node container with its data volume, configured by `MUSTER_*` variables. */
export class MusterNode extends Construct {
  readonly nodeName: string;
  readonly host: string;
  readonly address: string;
  readonly address6?: string;
  readonly containerName: string;
  /** `node.role`. */
  readonly role: 'core' | 'replicant';
  readonly env: string[];
  readonly container: DockerContainer;
  /** The data volume resource; undefined with `dataRemovalPolicy: 'retain'` (Docker makes it). */
  readonly volume?: DockerVolume;
  /** The data volume's name. */
  readonly volumeName: string;

  constructor(scope: Construct, id: string, props: MusterNodeProps) {
    super(scope, id);
    const p = parseProps(this, propsSchema, props, { nodeName: 'invalid@invalid', address: '' });
    requireCookieToken(this, props.cookie);
    if (!inSubnet(p.address, props.network.subnet)) reportProblem(this, `address: ${p.address} is outside the network's subnet ${props.network.subnet}`);
    else props.network.claim(p.address, this.node.path);
    this.nodeName = p.nodeName;
    this.host = parseNodeName(p.nodeName).host;
    this.address = p.address;
    this.address6 = props.address6;
    this.containerName = p.containerName ?? this.host.split('.')[0];
    if (p.tlsDir && !Token.isUnresolved(p.tlsDir)) {
      // A literal directory is on this machine (a local Docker engine): check it now rather than
      // let the agent exit 2 in a restarting container. A variable's value is known only at plan
      // time, where the container's precondition checks the same.
      const missing = TLS_FILES.map((f) => path.join(p.tlsDir!, this.host, f)).filter((f) => !existsSync(f));
      if (missing.length) reportProblem(this, `tlsDir: ${missing.join(', ')} missing: each node host needs <tlsDir>/<host>/ca.crt, tls.crt and tls.key`);
    }
    const tlsSettings = props.tlsDir
      ? { 'cluster.ssl.certfile': `${TLS_DIR}/tls.crt`, 'cluster.ssl.keyfile': `${TLS_DIR}/tls.key`, 'cluster.ssl.cacertfile': `${TLS_DIR}/ca.crt` }
      : {};
    this.role = p.role;
    const roleSettings = p.role === 'replicant' ? { 'node.role': 'replicant' } : {};
    this.env = agentEnv({ ...props.settings, ...tlsSettings, ...roleSettings, 'node.name': p.nodeName, 'node.cookie_file': COOKIE_FILE });
    // What the agent would refuse at boot (exit 2, and a container restarting for ever) fails synth.
    addCheck(this, () => agentEnvProblems(envForCheck(this.env)).map((line) => `agent settings: ${line}`));
    useProvider(this, props.provider);
    this.volumeName = `${this.containerName}-data`;
    if (p.dataRemovalPolicy === 'destroy') this.volume = new DockerVolume(this, 'data', { name: this.volumeName });
    // A healthcheck is not ForceNew in kreuzwerker/docker v3.6.2 (a change is an in-place update that
    // Update ignores); a label carrying the healthcheck's hash is, so a new one replaces the node.
    const healthHash = createHash('sha256').update(JSON.stringify(NODE_HEALTHCHECK)).digest('hex').slice(0, 16);
    this.container = new DockerContainer(this, 'container', {
      name: this.containerName,
      image: props.imageId,
      hostname: this.host,
      env: this.env,
      restart: p.restart,
      networksAdvanced: [{ name: props.network.name, ipv4Address: p.address, ipv6Address: props.address6, aliases: [this.host] }],
      upload: [{ file: COOKIE_FILE, content: props.cookie, permissions: '0444' }],
      mounts: p.tlsDir ? [{ type: 'bind', source: `${p.tlsDir}/${this.host}`, target: TLS_DIR, readOnly: true }] : undefined,
      volumes: [{ volumeName: this.volume?.name ?? this.volumeName, containerPath: IMAGE_DATA_DIR }],
      mustRun: true,
      destroyGraceSeconds: NODE_TIMINGS.destroyGraceSeconds,
      wait: p.waitReady,
      waitTimeout: p.waitReady ? (p.waitTimeoutSeconds ?? NODE_TIMINGS.waitTimeoutSeconds) : undefined,
      healthcheck: NODE_HEALTHCHECK,
      labels: [
        { label: 'muster.node-name', value: p.nodeName },
        { label: 'muster.healthcheck-hash', value: healthHash },
        ...(p.role === 'replicant' ? [{ label: 'muster.role', value: 'replicant' }] : []),
        // A mount's source is not ForceNew in kreuzwerker/docker v3.6.2 (a new path would plan an
        // in-place change the provider never applies); a label is, so a new path replaces the node.
        ...(p.tlsDir ? [{ label: 'muster.tls-dir', value: `${p.tlsDir}/${this.host}` }] : []),
      ],
      dependsOn: [props.network.network, ...(props.dependsOn ?? [])],
      lifecycle: p.tlsDir && Token.isUnresolved(p.tlsDir) ? { precondition: [tlsPrecondition(p.tlsDir, this.host)] } : undefined,
    });
  }
}

/** A node's certificate files, in `<tlsDir>/<host>/`. */
const TLS_FILES = ['ca.crt', 'tls.crt', 'tls.key'] as const;

/**
 * The TLS directory from a variable, checked by `terraform plan` (a precondition; Terraform
 * >= 1.5 for `startswith`): absolute, and holding the node's three files. Like the synth check of
 * a literal directory, it reads the machine that runs Terraform: the Docker engine's, when local.
 */
function tlsPrecondition(tlsDir: string, host: string): { condition: unknown; errorMessage: string } {
  return {
    condition: Fn.alltrue([Fn.startswith(tlsDir, '/'), ...TLS_FILES.map((f) => Fn.fileexists(Fn.format(`%s/${host}/${f}`, [tlsDir])))]),
    errorMessage: `tls_dir must be an absolute directory on the Docker host holding ${host}/ca.crt, ${host}/tls.crt and ${host}/tls.key (the node's certificate, key and the cluster CA)`,
  };
}

/**
 * A container's `env` lines as the agent would see them at boot, for its config loader. Values
 * known only at deploy (the cookie variable's token) stand in as a placeholder: the loader checks
 * everything else.
 */
export function envForCheck(lines: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    lines.map((line) => {
      const eq = line.indexOf('=');
      const value = line.slice(eq + 1);
      return [line.slice(0, eq), Token.isUnresolved(value) ? 'token-known-at-deploy' : value];
    }),
  );
}
