import { z } from 'zod';
import { Construct, DockerContainer, DockerImage, Lazy } from '../lib/cdktf';
import { useProvider } from '../lib/provider';
import type { TerraformProvider } from '../lib/cdktf';
import { DEFAULT_IMAGES } from '../lib/images';
import { inSubnet, parseProps } from '../lib/validation';
import { reportProblem } from '../lib/problems';
import type { ClusterNetwork } from './cluster-network';
import { NAMED_CONF_PATH, renderNamedConf, renderZone, zoneFilePath, type DnsRecord } from './dns-zone';

export interface DnsServerProps {
  /** The Docker provider (host) its resources use. @default the stack's default docker provider */
  readonly provider?: TerraformProvider;
  readonly network: ClusterNetwork;
  /** The server's address on the network. */
  readonly address: string;
  /** The zone it serves, e.g. 'muster.internal'. */
  readonly zone: string;
  /**
   * Records of the zone besides SOA and NS. Clusters that share this server add their own
   * (`addRecords`; `MusterCluster` does). @default []
   */
  readonly records?: readonly DnsRecord[];
  /** BIND 9 image. @default 'internetsystemsconsortium/bind9:9.18' */
  readonly image?: string;
  /** Container name. @default '<zone>-dns' */
  readonly containerName?: string;
}

const propsSchema = z.object({
  address: z.string(),
  zone: z.string().regex(/^(?!-)[A-Za-z0-9-]{1,63}(\.(?!-)[A-Za-z0-9-]{1,63})+$/, 'must be a DNS zone name such as muster.internal'),
  image: z.string().min(1).default(DEFAULT_IMAGES.dns),
  containerName: z.string().optional(),
});

/**
 * A real DNS server: BIND 9 in a container, its named.conf and zone file put in with `upload`
 * blocks, authoritative for the cluster's zone.
 */
export class DnsServer extends Construct {
  readonly address: string;
  readonly zone: string;
  readonly namedConf: string;
  private readonly recordList: DnsRecord[] = [];
  readonly image: string;
  readonly containerName: string;
  readonly container: DockerContainer;

  constructor(scope: Construct, id: string, props: DnsServerProps) {
    super(scope, id);
    const p = parseProps(this, propsSchema, props, { address: '', zone: 'invalid.internal' });
    const inside = inSubnet(p.address, props.network.subnet);
    if (!inside) reportProblem(this, `address: ${p.address} is outside the network's subnet ${props.network.subnet}`);
    this.address = p.address;
    this.zone = p.zone;
    this.recordList.push(...(props.records ?? []));
    this.image = p.image;
    if (inside) props.network.claim(p.address, this.node.path);
    this.namedConf = renderNamedConf(p.zone);
    const image = new DockerImage(this, 'image', { name: p.image, keepLocally: true });
    this.containerName = p.containerName ?? `${p.zone.replace(/\./g, '-')}-dns`;
    this.container = new DockerContainer(this, 'container', {
      name: this.containerName,
      image: image.imageId,
      // Arguments only: the image's ENTRYPOINT is `/usr/sbin/named -u bind` (isc-projects/bind9-docker
      // since 2024-08), and Docker appends `command` to it. -g: foreground, log to stderr.
      command: ['-g', '-c', NAMED_CONF_PATH],
      restart: 'unless-stopped',
      networksAdvanced: [{ name: props.network.name, ipv4Address: p.address, aliases: [`ns.${p.zone}`] }],
      upload: [
        { file: NAMED_CONF_PATH, content: this.namedConf },
        // Rendered at synth, once every cluster that shares the server has added its records.
        { file: zoneFilePath(p.zone), content: Lazy.stringValue({ produce: () => this.zoneFile }) },
      ],
      dependsOn: [props.network.network],
    });
    useProvider(this, props.provider);
  }

  /** Adds records to the zone (a cluster sharing this server adds its nodes' records). */
  addRecords(records: readonly DnsRecord[]): void {
    this.recordList.push(...records);
  }

  get records(): readonly DnsRecord[] {
    return [...this.recordList];
  }

  /** The zone file as it will be uploaded. */
  get zoneFile(): string {
    return renderZone(this.zone, this.address, this.recordList);
  }

  /** `ip:port` for the agents' `cluster.dns.servers`. */
  get server(): string {
    return `${this.address}:53`;
  }
}
