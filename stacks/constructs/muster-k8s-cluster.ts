import { z } from 'zod';
import { agentEnvProblems, DEFAULT_CLUSTER_PORT, IMAGE_DATA_DIR, IMAGE_GID, IMAGE_HEALTHCHECK, IMAGE_UID, type AgentSettings } from '../../node-agent/src/contract';
import { agentEnv } from '../lib/agent-env';
import { Construct, DeploymentV1, Fn, PodDisruptionBudgetV1, RoleBindingV1, RoleV1, SecretV1, ServiceAccountV1, ServiceV1, StatefulSetV1, Token } from '../lib/cdktf';
import { parseProps, requireCookieToken } from '../lib/validation';
import { addCheck, reportProblem } from '../lib/problems';
import { kitOwnedProblem } from './muster-cluster';
import { httpEndpointOf, type HttpEndpoint } from '../lib/http-endpoint';

export interface MusterK8sClusterProps {
  /** Names the Service, StatefulSet, account and secret; the agents' `cluster.name` and `cluster.k8s.service_name`. @default 'muster' */
  readonly name?: string;
  /** The namespace (a literal or a TerraformVariable's value). @default 'default' */
  readonly namespace?: string;
  /** Pods (StatefulSet replicas), each a core node. @default 3 */
  readonly replicas?: number;
  /**
   * Replicant nodes (`node.role = replicant`; the EMQX operator's `replicantTemplate`): a
   * Deployment `<name>-replicant` of this many pods, named `muster@<pod IP>`, finding the cores
   * through the same Service (which selects the cores only), with their data on an `emptyDir`
   * (a replicant's copy comes from the cores). Scaling it changes nothing of the StatefulSet.
   * @default 0 (no Deployment)
   */
  readonly replicants?: number;
  /** The node image, pushed to a registry the cluster pulls from (built from node-agent/Dockerfile). */
  readonly image: string;
  /** The cookie: exactly a sensitive TerraformVariable's value. Kept in a Secret. */
  readonly cookie: string;
  /** The cluster's DNS domain (kubelet's `--cluster-domain`): node names end in `svc.<clusterDomain>`. @default 'cluster.local' */
  readonly clusterDomain?: string;
  /**
   * The container's resources. The agent uses about 50 MB and little CPU at rest; a formation or a
   * crash costs short bursts. @default { requests: { cpu: '100m', memory: '96Mi' }, limits: { memory: '256Mi' } }
   */
  readonly resources?: { readonly requests?: Record<string, string>; readonly limits?: Record<string, string> };
  /** The data volume claim. @default { size: '1Gi' } with the cluster's default storage class */
  readonly storage?: { readonly size?: string; readonly storageClassName?: string };
  /**
   * The probes ask the agent's HTTP listener (`httpGet` on `/status/ready` and `/status/live`,
   * answered in about a millisecond); the timeout still covers a pod starved of CPU for a moment.
   * With `http.enable = false` in agentSettings they run `muster-health` and `muster ctl ping`
   * instead (a Node.js process each, about 0.2-0.3 s of CPU: give them 5 s).
   * @default { periodSeconds: 5, timeoutSeconds: 2 } (readiness; 5 s without the listener),
   * { periodSeconds: 10, timeoutSeconds: the same, failureThreshold: 6 } (liveness)
   */
  readonly probes?: { readonly periodSeconds?: number; readonly timeoutSeconds?: number; readonly livenessFailureThreshold?: number };
  /** Pods that may be down at once by a voluntary disruption (drain, upgrade). @default 1 */
  readonly maxUnavailable?: number;
  /**
   * `cluster.ready_min_nodes`: a pod is ready once in a cluster of at least this many, so a rolling
   * update moves on only after the replaced pod rejoined. @default 2 (1 with a single replica)
   */
  readonly readyMinNodes?: number;
  /** More agent settings (typed; the kit-owned keys are refused, as on Docker). @default {} */
  readonly agentSettings?: AgentSettings;
}

const dnsLabel = z.string().regex(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a DNS-1035 label: lower-case letters, digits and -, starting with a letter, at most 63 characters');
const quantity = z.string().regex(/^\d+(\.\d+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/, 'must be a Kubernetes quantity such as 100m, 96Mi or 1Gi');

const propsSchema = z.strictObject({
  name: dnsLabel.default('muster'),
  namespace: z.string().refine((n) => Token.isUnresolved(n) || /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(n), 'must be a DNS-1123 label').default('default'),
  replicas: z.number().int('must be a whole number').min(1, 'must be at least 1').max(200, 'at most 200').default(3),
  replicants: z.number().int('must be a whole number').min(0, 'must be 0 or more').max(1000, 'at most 1000').default(0),
  image: z.string().min(1, 'must name the node image in a registry the cluster pulls from'),
  cookie: z.string(),
  clusterDomain: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a DNS domain such as cluster.local').default('cluster.local'),
  resources: z
    .strictObject({ requests: z.record(z.string(), quantity).optional(), limits: z.record(z.string(), quantity).optional() })
    .default({ requests: { cpu: '100m', memory: '96Mi' }, limits: { memory: '256Mi' } }),
  storage: z.strictObject({ size: quantity.default('1Gi'), storageClassName: z.string().min(1).optional() }).default({ size: '1Gi' }),
  probes: z
    .strictObject({
      periodSeconds: z.number().int().min(1).default(5),
      timeoutSeconds: z.number().int().min(1).optional(),
      livenessFailureThreshold: z.number().int().min(1).default(6),
    })
    .default({ periodSeconds: 5, livenessFailureThreshold: 6 }),
  maxUnavailable: z.number().int().min(1).default(1),
  readyMinNodes: z.number().int().min(1).optional(),
  agentSettings: z.record(z.string(), z.unknown()).default({}),
});

/**
 * A Muster cluster on Kubernetes: a headless Service that publishes not-ready addresses (readiness
 * depends on membership, so hiding not-ready pods would deadlock a cold start), a StatefulSet
 * whose pods find each other through the Service's EndpointSlices (`k8s` discovery, hostname
 * addresses), a ServiceAccount allowed to read them, the cookie in a Secret, and a
 * PodDisruptionBudget. A new cookie rolls the pods (a checksum annotation on the pod template).
 */
export class MusterK8sCluster extends Construct {
  readonly name: string;
  readonly namespace: string;
  readonly replicas: number;
  /** The node names, `muster@<pod>.<service>.<namespace>.svc.<clusterDomain>`. */
  readonly nodeNames: string[];
  /** The headless Service's DNS name. */
  readonly serviceDnsName: string;
  readonly statefulSet: StatefulSetV1;
  /** The replicants' Deployment; undefined with no replicants. */
  readonly replicantDeployment?: DeploymentV1;
  /** How many replicant pods. */
  readonly replicants: number;
  readonly service: ServiceV1;
  /** Where each pod's read-only HTTP listener answers (probes, `/metrics`); undefined with `http.enable = false`. */
  readonly http?: HttpEndpoint;
  /** Each node's status and metrics URL (inside the cluster), by node name; empty without the listener. */
  readonly statusUrls: Record<string, string> = {};
  readonly metricsUrls: Record<string, string> = {};

  constructor(scope: Construct, id: string, props: MusterK8sClusterProps) {
    super(scope, id);
    const p = parseProps(this, propsSchema, props, { image: 'invalid', cookie: '' });
    requireCookieToken(this, props.cookie);
    for (const k of Object.keys(p.agentSettings)) {
      const problem = kitOwnedProblem(k);
      if (problem) reportProblem(this, `agentSettings.${k}: ${problem}`);
    }
    if (p.maxUnavailable >= p.replicas && p.replicas > 1) {
      reportProblem(this, `maxUnavailable: ${p.maxUnavailable} would let a drain stop all ${p.replicas} pods at once; at most ${p.replicas - 1}`);
    }
    const { name, namespace, replicas } = p;
    this.name = name;
    this.namespace = namespace;
    this.replicas = replicas;
    this.replicants = p.replicants;
    const suffix = `svc.${p.clusterDomain}`;
    this.serviceDnsName = `${name}.${namespace}.${suffix}`;
    this.nodeNames = Array.from({ length: replicas }, (_, i) => `muster@${name}-${i}.${this.serviceDnsName}`);
    const labels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/component': 'node' };
    const readyMinNodes = p.readyMinNodes ?? Math.min(2, replicas);
    this.http = httpEndpointOf(p.agentSettings as AgentSettings);
    const http = this.http;
    for (const node of this.nodeNames) {
      if (!http) break;
      const host = node.slice(node.indexOf('@') + 1);
      this.statusUrls[node] = `${http.scheme}://${host}:${http.port}/status`;
      this.metricsUrls[node] = `${http.scheme}://${host}:${http.port}/metrics`;
    }
    const timeoutSeconds = p.probes.timeoutSeconds ?? (http ? 2 : 5);
    const probeTiming = { periodSeconds: p.probes.periodSeconds, timeoutSeconds };
    const httpGet = (path: string) => ({ path, port: 'http', scheme: http!.scheme.toUpperCase() });

    const secret = new SecretV1(this, 'cookie-secret', { metadata: { name: `${name}-cookie`, namespace }, data: { cookie: props.cookie } });
    const account = new ServiceAccountV1(this, 'account', { metadata: { name, namespace } });
    const role = new RoleV1(this, 'role', {
      metadata: { name: `${name}-discovery`, namespace },
      rule: [
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['endpoints'], verbs: ['get', 'list', 'watch'] },
      ],
    });
    new RoleBindingV1(this, 'role-binding', {
      metadata: { name: `${name}-discovery`, namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name },
      subject: [{ kind: 'ServiceAccount', name: account.metadata.name, namespace }],
    });
    this.service = new ServiceV1(this, 'service', {
      metadata: { name, namespace, labels },
      spec: { clusterIp: 'None', publishNotReadyAddresses: true, selector: labels, port: [{ name: 'cluster', port: DEFAULT_CLUSTER_PORT, targetPort: String(DEFAULT_CLUSTER_PORT) }] },
    });
    const settingsFor = (role: 'core' | 'replicant') => agentEnv({
      // Every interface, as EMQX's dashboard listener: the kubelet's probes reach the pod IP, and
      // `kubectl port-forward` reaches localhost inside the pod.
      'http.bind': '0.0.0.0',
      ...(p.agentSettings as AgentSettings),
      'cluster.name': name,
      'cluster.discovery_strategy': 'k8s',
      'cluster.k8s.apiserver': 'https://kubernetes.default.svc',
      'cluster.k8s.service_name': name,
      'cluster.k8s.namespace': namespace,
      'cluster.k8s.address_type': 'hostname',
      'cluster.k8s.suffix': suffix,
      'cluster.ready_min_nodes': readyMinNodes > 1 ? readyMinNodes : undefined,
      'node.role': role === 'replicant' ? 'replicant' : undefined,
    }).map((line) => ({ name: line.slice(0, line.indexOf('=')), value: line.slice(line.indexOf('=') + 1) }));
    const settings = settingsFor('core');
    // The agent's loader on a pod's environment as the kubelet fills it in (pod 0; the namespace
    // and the cookie known only at deploy): anything the agent would refuse fails synth.
    addCheck(this, () =>
        agentEnvProblems({
          ...Object.fromEntries(settings.map((e) => [e.name, Token.isUnresolved(e.value) ? 'default' : e.value])),
          MUSTER_NODE__NAME: `muster@${name}-0.${name}.default.${suffix}`,
          MUSTER_NODE__COOKIE: 'token-known-at-deploy',
        }).map((line) => `agent settings: ${line}`),
    );
    const replicantSettings = settingsFor('replicant');
    if (p.replicants > 0) {
      addCheck(this, () =>
        agentEnvProblems({
          ...Object.fromEntries(replicantSettings.map((e) => [e.name, Token.isUnresolved(e.value) ? 'default' : e.value])),
          MUSTER_NODE__NAME: 'muster@10.244.0.10',
          MUSTER_NODE__COOKIE: 'token-known-at-deploy',
        }).map((line) => `agent settings (replicants): ${line}`),
      );
    }
    // What both workloads' pods share. The image runs as uid/gid 1000 (node-agent/Dockerfile); fsGroup
    // makes the kubelet give the data volume to that group, which an ordinary (root-owned) volume
    // otherwise is not writable by, as EMQX's Helm chart does (podSecurityContext). A new cookie
    // changes the Secret, which pods read only at start: the checksum rolls them. The scrape
    // annotations are those Prometheus's kubernetes_sd examples (and EMQX's Helm chart) read.
    const podSecurity = { runAsNonRoot: true, runAsUser: String(IMAGE_UID), runAsGroup: String(IMAGE_GID), fsGroup: String(IMAGE_GID), fsGroupChangePolicy: 'OnRootMismatch' };
    const podAnnotations = {
      'muster.io/cookie-checksum': Fn.sha256(props.cookie),
      ...(http ? { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(http.port), 'prometheus.io/path': '/metrics', 'prometheus.io/scheme': http.scheme } : {}),
    };
    const probesOf = () => ({
      readinessProbe: http ? { httpGet: httpGet('/status/ready'), ...probeTiming } : { exec: { command: IMAGE_HEALTHCHECK.test.slice(1) }, ...probeTiming },
      livenessProbe: {
        ...(http ? { httpGet: httpGet('/status/live') } : { exec: { command: ['muster', 'ctl', 'ping'] } }),
        periodSeconds: p.probes.periodSeconds * 2,
        timeoutSeconds,
        failureThreshold: p.probes.livenessFailureThreshold,
      },
    });
    this.statefulSet = new StatefulSetV1(this, 'statefulset', {
      metadata: { name, namespace, labels },
      spec: {
        serviceName: this.service.metadata.name,
        replicas: String(replicas),
        // All pods start at once: discovery forms the cluster, no pod waits for another.
        podManagementPolicy: 'Parallel',
        updateStrategy: [{ type: 'RollingUpdate' }],
        selector: { matchLabels: labels },
        template: {
          metadata: {
            labels,
            annotations: podAnnotations,
          },
          spec: {
            serviceAccountName: account.metadata.name,
            securityContext: podSecurity,
            container: [
              {
                name: 'muster',
                image: p.image,
                port: [{ name: 'cluster', containerPort: DEFAULT_CLUSTER_PORT }, ...(http ? [{ name: 'http', containerPort: http.port }] : [])],
                env: [
                  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                  // A stable name per pod, matching address_type = hostname discovery.
                  { name: 'MUSTER_NODE__NAME', value: `muster@$(POD_NAME).${name}.$(POD_NAMESPACE).${suffix}` },
                  { name: 'MUSTER_NODE__COOKIE', valueFrom: { secretKeyRef: { name: secret.metadata.name, key: 'cookie' } } },
                  ...settings,
                ],
                resources: { requests: p.resources.requests, limits: p.resources.limits },
                securityContext: { allowPrivilegeEscalation: false },
                ...probesOf(),
                volumeMount: [{ name: 'data', mountPath: IMAGE_DATA_DIR }],
              },
            ],
          },
        },
        volumeClaimTemplate: [
          {
            metadata: { name: 'data' },
            spec: { accessModes: ['ReadWriteOnce'], storageClassName: p.storage.storageClassName, resources: { requests: { storage: p.storage.size } } },
          },
        ],
      },
    });
    new PodDisruptionBudgetV1(this, 'disruption-budget', {
      metadata: { name, namespace, labels },
      spec: { maxUnavailable: String(p.maxUnavailable), selector: { matchLabels: labels } },
    });
    if (p.replicants > 0) {
      // Not selected by the Service (another component label): discovery finds the cores only.
      const replicantLabels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/component': 'replicant' };
      this.replicantDeployment = new DeploymentV1(this, 'replicants', {
        metadata: { name: `${name}-replicant`, namespace, labels: replicantLabels },
        spec: {
          replicas: String(p.replicants),
          selector: { matchLabels: replicantLabels },
          strategy: { type: 'RollingUpdate' },
          template: {
            metadata: { labels: replicantLabels, annotations: podAnnotations },
            spec: {
              serviceAccountName: account.metadata.name,
              securityContext: podSecurity,
              container: [
                {
                  name: 'muster',
                  image: p.image,
                  port: [{ name: 'cluster', containerPort: DEFAULT_CLUSTER_PORT }, ...(http ? [{ name: 'http', containerPort: http.port }] : [])],
                  env: [
                    { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                    // A Deployment's pods have no stable name: a replicant is named by its address,
                    // which the cores dial it on, and is a new node when it is replaced.
                    { name: 'MUSTER_NODE__NAME', value: 'muster@$(POD_IP)' },
                    { name: 'MUSTER_NODE__COOKIE', valueFrom: { secretKeyRef: { name: secret.metadata.name, key: 'cookie' } } },
                    ...replicantSettings,
                  ],
                  resources: { requests: p.resources.requests, limits: p.resources.limits },
                  securityContext: { allowPrivilegeEscalation: false },
                  ...probesOf(),
                  volumeMount: [{ name: 'data', mountPath: IMAGE_DATA_DIR }],
                },
              ],
              volume: [{ name: 'data', emptyDir: {} }],
            },
          },
        },
      });
    }
  }
}
