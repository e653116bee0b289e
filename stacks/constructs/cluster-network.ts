import { isIPv6 } from 'node:net';
import { z } from 'zod';
import { Construct, DockerNetwork, TerraformStack } from '../lib/cdktf';
import { useProvider } from '../lib/provider';
import type { TerraformProvider } from '../lib/cdktf';
import { intToIpv4, parseCidr, parseProps } from '../lib/validation';
import { addCheck, KitValidationError } from '../lib/problems';

export interface ClusterNetworkProps {
  /** The Docker provider (host) its resources use. @default the stack's default docker provider */
  readonly provider?: TerraformProvider;
  /** Docker network name. */
  readonly name: string;
  /**
   * IPv4 subnet the network hands addresses from. Addresses are assigned by the kit, not by Docker,
   * so node IPs are known at synth time (DNS A records, static seeds).
   * @default '10.28.0.0/24'
   */
  readonly subnet?: string;
  /** An IPv6 subnet too, e.g. 'fd00:28::/64'; the network is then dual-stack. @default none (IPv4 only) */
  readonly ipv6Subnet?: string;
}

const propsSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "must be letters, digits, '_', '.' or '-' (a Docker network name)"),
  subnet: z
    .string()
    .refine((s) => parseCidr(s) !== undefined, 'must be an IPv4 CIDR with a prefix of /30 or shorter, e.g. 10.28.0.0/24')
    .default('10.28.0.0/24'),
  ipv6Subnet: z
    .string()
    .refine((s) => /^[0-9a-fA-F:]+::\/64$/.test(s) && isIPv6(s.split('/')[0]), 'must be an IPv6 /64 written as prefix::/64, such as fd00:28::/64')
    .optional(),
});

/** A user-defined Docker bridge network with a fixed subnet and a deterministic address plan. */
export class ClusterNetwork extends Construct {
  readonly network: DockerNetwork;
  /** The Docker network's name, for containers' `networks_advanced`. */
  readonly name: string;
  readonly subnet: string;
  readonly gateway: string;
  readonly ipv6Subnet?: string;
  /** The IPv6 gateway (host number 1), on a dual-stack network. */
  readonly gateway6?: string;
  private readonly base: number;
  private readonly size: number;
  /** Who holds each address: two holders of one address fail synth, naming both. */
  private readonly claims = new Map<string, string[]>();

  constructor(scope: Construct, id: string, props: ClusterNetworkProps) {
    super(scope, id);
    const p = parseProps(this, propsSchema, props, { name: 'invalid' });
    const cidr = parseCidr(p.subnet)!;
    this.base = cidr.base;
    this.size = 2 ** (32 - cidr.bits);
    this.name = p.name;
    this.subnet = `${intToIpv4(cidr.base)}/${cidr.bits}`;
    this.gateway = this.addressAt(1);
    this.claim(this.gateway, 'the gateway');
    addCheck(this, () => this.claimProblems());
    useProvider(this, props.provider);
    this.ipv6Subnet = p.ipv6Subnet;
    this.gateway6 = p.ipv6Subnet ? this.address6At(1) : undefined;
    this.network = new DockerNetwork(this, 'network', {
      name: p.name,
      driver: 'bridge',
      ipv6: p.ipv6Subnet ? true : undefined,
      // Both gateways explicit: left out, Docker picks one and reports it after a daemon restart,
      // and the provider then plans to replace the network (ipam_config is ForceNew).
      ipamConfig: [{ subnet: this.subnet, gateway: this.gateway }, ...(p.ipv6Subnet ? [{ subnet: p.ipv6Subnet, gateway: this.gateway6! }] : [])],
    });
  }

  /**
   * Records that `owner` (a construct path) uses `address` on this network. Clusters that share a
   * network each claim their addresses; synth fails when two claim one (and for the gateway's).
   */
  claim(address: string, owner: string): void {
    this.claims.set(address, [...(this.claims.get(address) ?? []), owner]);
  }

  private claimProblems(): string[] {
    const out: string[] = [];
    for (const [address, owners] of this.claims) if (owners.length > 1) out.push(`address ${address} on network ${this.name} is used by ${owners.join(' and ')}`);
    for (const other of TerraformStack.of(this).node.findAll()) {
      if (other instanceof ClusterNetwork && other !== this && other.name === this.name && other.node.path < this.node.path) {
        out.push(`name: network ${this.name} is declared twice in this stack (also ${other.node.path}); share one ClusterNetwork instead`);
      }
      // Docker refuses a network whose subnet overlaps another's ("Pool overlaps"), at apply.
      if (other instanceof ClusterNetwork && other !== this && other.node.path < this.node.path && other.base < this.base + this.size && this.base < other.base + other.size) {
        out.push(`subnet: ${this.subnet} overlaps ${other.subnet} of ${other.node.path}; Docker refuses overlapping networks`);
      }
    }
    return out;
  }

  /** The IPv6 address with host number `n` (the subnet must be a /64 written as `prefix::/64`). */
  address6At(n: number): string {
    if (!this.ipv6Subnet) throw new KitValidationError([{ path: this.node.path, message: 'ipv6Subnet: the network has none, so it has no IPv6 addresses' }]);
    return `${this.ipv6Subnet.split('/')[0].replace(/::$/, '')}::${n.toString(16)}`;
  }

  /** Usable host addresses (without network, broadcast). */
  get capacity(): number {
    return this.size - 2;
  }

  /** The address with host number `n` (1 is the gateway); throws when `n` is outside the subnet. */
  addressAt(n: number): string {
    if (!Number.isInteger(n) || n < 1 || n > this.size - 2) {
      throw new KitValidationError([{ path: this.node.path, message: `host number ${n} is outside ${this.subnet} (1..${this.size - 2})` }]);
    }
    return intToIpv4(this.base + n);
  }
}
