import { MusterK8sCluster, type MusterK8sClusterProps } from '../constructs/muster-k8s-cluster';
import { Construct, KubernetesProvider, TerraformOutput, TerraformStack, TerraformVariable } from '../lib/cdktf';

export interface MusterK8sStackProps {
  /** StatefulSet replicas (core nodes). @default 3 */
  readonly replicas?: number;
  /** Replicant pods (`MusterK8sClusterProps.replicants`). @default 0 */
  readonly replicants?: number;
  /** Service, StatefulSet and account name; also the agents' `cluster.k8s.service_name`. @default 'muster' */
  readonly name?: string;
  /** Everything else of the cluster (resources, storage, probes, agent settings). @default the construct's defaults */
  readonly cluster?: Omit<MusterK8sClusterProps, 'name' | 'replicas' | 'replicants' | 'namespace' | 'image' | 'cookie'>;
}

/**
 * The Kubernetes way: a `MusterK8sCluster` with its kubeconfig, namespace, image and cookie as
 * Terraform variables.
 */
export class MusterK8sStack extends TerraformStack {
  readonly cluster: MusterK8sCluster;

  constructor(scope: Construct, id: string, props: MusterK8sStackProps = {}) {
    super(scope, id);
    new KubernetesProvider(this, 'kubernetes', {
      configPath: new TerraformVariable(this, 'kubeconfig', { type: 'string', default: '~/.kube/config', description: 'kubeconfig file' }).stringValue,
    });
    const namespace = new TerraformVariable(this, 'namespace', { type: 'string', default: 'default', description: 'Namespace of the cluster' }).stringValue;
    const image = new TerraformVariable(this, 'node_image', {
      type: 'string',
      description: 'The node image (built from node-agent/Dockerfile and pushed to a registry the cluster can pull from)',
    }).stringValue;
    const cookie = new TerraformVariable(this, 'cookie', { type: 'string', sensitive: true, description: 'The cluster cookie. No default: set TF_VAR_cookie.' });
    this.cluster = new MusterK8sCluster(this, 'cluster', { ...props.cluster, name: props.name, replicas: props.replicas, replicants: props.replicants, namespace, image, cookie: cookie.stringValue });
    new TerraformOutput(this, 'node_names', { value: this.cluster.nodeNames, description: 'The node names (node.name)' });
    new TerraformOutput(this, 'service', { value: this.cluster.serviceDnsName, description: 'The headless Service' });
    if (this.cluster.http) {
      new TerraformOutput(this, 'status_urls', { value: this.cluster.statusUrls, description: 'Each node\'s EMQX-style status, inside the cluster (GET; /status/ready for readiness, / for the cluster page)' });
      new TerraformOutput(this, 'metrics_urls', { value: this.cluster.metricsUrls, description: 'Each node\'s Prometheus metrics, inside the cluster (the pods carry prometheus.io/scrape annotations)' });
    }
    new TerraformOutput(this, 'status_command', { value: `kubectl -n ${namespace} exec ${this.cluster.name}-0 -- muster ctl cluster status`, description: 'Check the cluster' });
  }
}
