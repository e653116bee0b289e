import {
  Construct,
  KubernetesProvider,
  RoleBindingV1,
  RoleV1,
  SecretV1,
  ServiceAccountV1,
  ServiceV1,
  StatefulSetV1,
  TerraformOutput,
  TerraformStack,
  TerraformVariable,
  Token,
} from '../lib/cdktf';
import { agentEnvProblems, DEFAULT_CLUSTER_PORT, IMAGE_DATA_DIR, IMAGE_HEALTHCHECK } from '../../node-agent/src/contract';
import { agentEnv } from '../lib/agent-env';
import { NODE_GID, NODE_UID } from '../lib/images';

export interface MusterK8sStackProps {
  /** StatefulSet replicas. @default 3 */
  readonly replicas?: number;
  /** Service, StatefulSet and account name; also the agents' `cluster.k8s.service_name`. @default 'muster' */
  readonly name?: string;
}

/**
 * The Kubernetes way: a headless Service that publishes not-ready addresses (readiness depends on
 * membership, so hiding not-ready pods would deadlock a cold start), a StatefulSet whose pods find
 * each other through the Service's EndpointSlices, and a ServiceAccount allowed to read them.
 */
export class MusterK8sStack extends TerraformStack {
  constructor(scope: Construct, id: string, props: MusterK8sStackProps = {}) {
    super(scope, id);
    const name = props.name ?? 'muster';
    const replicas = props.replicas ?? 3;
    new KubernetesProvider(this, 'kubernetes', {
      configPath: new TerraformVariable(this, 'kubeconfig', { type: 'string', default: '~/.kube/config', description: 'kubeconfig file' }).stringValue,
    });
    const namespace = new TerraformVariable(this, 'namespace', { type: 'string', default: 'default', description: 'Namespace of the cluster' }).stringValue;
    const image = new TerraformVariable(this, 'node_image', {
      type: 'string',
      description: 'The node image (built from node-agent/Dockerfile and pushed to a registry the cluster can pull from)',
    }).stringValue;
    const cookie = new TerraformVariable(this, 'cookie', { type: 'string', sensitive: true, description: 'The cluster cookie. No default: set TF_VAR_cookie.' });
    const labels = { 'app.kubernetes.io/name': name };

    const secret = new SecretV1(this, 'cookie-secret', { metadata: { name: `${name}-cookie`, namespace }, data: { cookie: cookie.stringValue } });
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
    const service = new ServiceV1(this, 'service', {
      metadata: { name, namespace, labels },
      spec: { clusterIp: 'None', publishNotReadyAddresses: true, selector: labels, port: [{ name: 'cluster', port: DEFAULT_CLUSTER_PORT, targetPort: String(DEFAULT_CLUSTER_PORT) }] },
    });
    const settings = agentEnv({
      'cluster.name': name,
      'cluster.discovery_strategy': 'k8s',
      'cluster.k8s.apiserver': 'https://kubernetes.default.svc',
      'cluster.k8s.service_name': name,
      'cluster.k8s.namespace': namespace,
      'cluster.k8s.address_type': 'hostname',
      'cluster.k8s.suffix': 'svc.cluster.local',
    }).map((line) => {
      const eq = line.indexOf('=');
      return { name: line.slice(0, eq), value: line.slice(eq + 1) };
    });
    // The agent's loader on a pod's environment as the kubelet fills it in (pod 0, the namespace and
    // the cookie known only at deploy): anything the agent would refuse fails synth.
    this.node.addValidation({
      validate: () =>
        agentEnvProblems({
          ...Object.fromEntries(settings.map((e) => [e.name, Token.isUnresolved(e.value) ? 'default' : e.value])),
          MUSTER_NODE__NAME: `muster@${name}-0.${name}.default.svc.cluster.local`,
          MUSTER_NODE__COOKIE: 'token-known-at-deploy',
        }).map((line) => `agent settings: ${line}`),
    });
    new StatefulSetV1(this, 'statefulset', {
      metadata: { name, namespace, labels },
      spec: {
        serviceName: service.metadata.name,
        replicas: String(replicas),
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: account.metadata.name,
            // The image runs as uid/gid 1000 (node-agent/Dockerfile); fsGroup makes the kubelet give
            // the data volume to that group, which an ordinary (root-owned) volume otherwise is not
            // writable by. As EMQX's Helm chart does (podSecurityContext).
            securityContext: {
              runAsNonRoot: true,
              runAsUser: String(NODE_UID),
              runAsGroup: String(NODE_GID),
              fsGroup: String(NODE_GID),
              fsGroupChangePolicy: 'OnRootMismatch',
            },
            container: [
              {
                name: 'muster',
                image,
                port: [{ name: 'cluster', containerPort: DEFAULT_CLUSTER_PORT }],
                env: [
                  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                  // A stable name per pod, matching address_type = hostname discovery.
                  { name: 'MUSTER_NODE__NAME', value: `muster@$(POD_NAME).${name}.$(POD_NAMESPACE).svc.cluster.local` },
                  { name: 'MUSTER_NODE__COOKIE', valueFrom: { secretKeyRef: { name: secret.metadata.name, key: 'cookie' } } },
                  ...settings,
                ],
                readinessProbe: { exec: { command: IMAGE_HEALTHCHECK.test.slice(1) }, periodSeconds: 5 },
                livenessProbe: { exec: { command: ['muster', 'ctl', 'ping'] }, periodSeconds: 10, failureThreshold: 6 },
                volumeMount: [{ name: 'data', mountPath: IMAGE_DATA_DIR }],
              },
            ],
          },
        },
        volumeClaimTemplate: [
          { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
        ],
      },
    });
    new TerraformOutput(this, 'node_names', {
      value: Array.from({ length: replicas }, (_, i) => `muster@${name}-${i}.${name}.<namespace>.svc.cluster.local`),
      description: 'The node names (node.name), <namespace> as set',
    });
    new TerraformOutput(this, 'status_command', { value: `kubectl exec ${name}-0 -- muster ctl cluster status`, description: 'Check the cluster' });
  }
}
