import { z } from 'zod';
import { Construct, DockerContainer, DockerImage, DockerVolume } from '../lib/cdktf';
import { useProvider } from '../lib/provider';
import type { TerraformProvider } from '../lib/cdktf';
import { DEFAULT_IMAGES } from '../lib/images';
import { inSubnet, parseProps } from '../lib/validation';
import { reportProblem } from '../lib/problems';
import type { ClusterNetwork } from './cluster-network';

export interface EtcdClusterProps {
  /** The Docker provider (host) its resources use. @default the stack's default docker provider */
  readonly provider?: TerraformProvider;
  readonly network: ClusterNetwork;
  /**
   * One address per member; the member count is their number (1, 3 or 5 are sensible). The count is
   * fixed at creation: every member starts with `--initial-cluster-state=new`, so changing it means
   * destroying and deploying the etcd cluster again (the Muster nodes' membership does not depend on
   * etcd, only their discovery does).
   */
  readonly addresses: readonly string[];
  /** etcd image; the binary is expected at /usr/local/bin/etcd. @default 'gcr.io/etcd-development/etcd:v3.5.17' */
  readonly image?: string;
  /** Prefix of container and member names. @default 'etcd' */
  readonly namePrefix?: string;
  /** The initial cluster token, so two clusters never merge by mistake. @default '<namePrefix>-cluster' */
  readonly clusterToken?: string;
}

const propsSchema = z.object({
  addresses: z.array(z.string()).min(1, 'at least one etcd member is needed'),
  image: z.string().min(1).default(DEFAULT_IMAGES.etcd),
  namePrefix: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "must be lower-case letters, digits or '-'").default('etcd'),
  clusterToken: z.string().optional(),
});

export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;

/** One or more etcd members in containers, bootstrapped statically (no discovery service). */
export class EtcdCluster extends Construct {
  /** Client URLs, for the agents' `cluster.etcd.server`. */
  readonly endpoints: string[];
  readonly image: string;
  readonly members: { name: string; address: string; container: DockerContainer }[] = [];

  constructor(scope: Construct, id: string, props: EtcdClusterProps) {
    super(scope, id);
    const p = parseProps(this, propsSchema, props, { addresses: [] });
    for (const a of p.addresses) {
      if (inSubnet(a, props.network.subnet)) props.network.claim(a, this.node.path);
      else reportProblem(this, `addresses: ${a} is outside the network's subnet ${props.network.subnet}`);
    }
    this.image = p.image;
    const image = new DockerImage(this, 'image', { name: p.image, keepLocally: true });
    const names = p.addresses.map((_, i) => `${p.namePrefix}${i}`);
    const initialCluster = names.map((n, i) => `${n}=http://${p.addresses[i]}:${ETCD_PEER_PORT}`).join(',');
    this.endpoints = p.addresses.map((a) => `http://${a}:${ETCD_CLIENT_PORT}`);
    names.forEach((name, i) => {
      const address = p.addresses[i];
      const volume = new DockerVolume(this, `${name}-data`, { name: `${name}-data` });
      const container = new DockerContainer(this, name, {
        name,
        image: image.imageId,
        command: [
          '/usr/local/bin/etcd',
          `--name=${name}`,
          '--data-dir=/var/lib/etcd',
          `--listen-client-urls=http://0.0.0.0:${ETCD_CLIENT_PORT}`,
          `--advertise-client-urls=http://${address}:${ETCD_CLIENT_PORT}`,
          `--listen-peer-urls=http://0.0.0.0:${ETCD_PEER_PORT}`,
          `--initial-advertise-peer-urls=http://${address}:${ETCD_PEER_PORT}`,
          `--initial-cluster=${initialCluster}`,
          `--initial-cluster-token=${p.clusterToken ?? `${p.namePrefix}-cluster`}`,
          '--initial-cluster-state=new',
        ],
        restart: 'unless-stopped',
        networksAdvanced: [{ name: props.network.name, ipv4Address: address, aliases: [name] }],
        volumes: [{ volumeName: volume.name, containerPath: '/var/lib/etcd' }],
        dependsOn: [props.network.network],
      });
      this.members.push({ name, address, container });
    });
    useProvider(this, props.provider);
  }
}
