/** The Muster kit: CDKTF constructs other teams can reuse. */
export { ClusterNetwork, type ClusterNetworkProps } from './constructs/cluster-network';
export { AgentImage, type AgentImageProps } from './constructs/agent-image';
export { DnsServer, type DnsServerProps } from './constructs/dns-server';
export { renderZone, renderNamedConf, type DnsRecord } from './constructs/dns-zone';
export { EtcdCluster, type EtcdClusterProps } from './constructs/etcd-cluster';
export { MusterNode, type MusterNodeProps } from './constructs/muster-node';
export { MusterCluster, type MusterClusterProps, type DiscoveryProps, type MusterClusterImages, type DeclaredNode, ADDRESS_PLAN, KIT_OWNED_SETTINGS } from './constructs/muster-cluster';
export type { AgentSettings, SettingKey, SettingValue } from './lib/agent-env';
export { MusterDockerStack, type MusterDockerStackProps } from './stacks/docker-stack';
export { MusterK8sCluster, type MusterK8sClusterProps } from './constructs/muster-k8s-cluster';
export { MusterK8sStack, type MusterK8sStackProps } from './stacks/k8s-stack';
export { clusterSummary } from './plan/summary';
export { KitValidationError, type KitProblem } from './lib/problems';
