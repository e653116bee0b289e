import { Resolver } from 'node:dns/promises';
import { DiscoveryError, type DiscoveredNode, type Discovery } from './strategy';
import { DEFAULT_TUNING } from '../tuning';

const T = DEFAULT_TUNING.lookups;

export interface DnsOptions {
  /** Queried exactly as written. */
  name: string;
  recordType: 'a' | 'aaaa' | 'srv';
  /** `cluster.dns.servers`; the system resolver when absent. */
  servers?: string[];
  /** This node's name part: A/AAAA records become `<namePart>@<ip>`, SRV targets `<namePart>@<target>`. */
  namePart: string;
}

/** `cluster.dns`: every address of an A name, or every target of an SRV name, is a node. */
export class DnsDiscovery implements Discovery {
  private readonly resolver = new Resolver({ timeout: T.dnsTimeoutMs, tries: T.dnsTries });

  constructor(private readonly o: DnsOptions) {
    if (o.servers?.length) this.resolver.setServers(o.servers);
  }

  async discover(): Promise<DiscoveredNode[]> {
    const { name, namePart } = this.o;
    try {
      if (this.o.recordType === 'srv') {
        const records = await this.resolver.resolveSrv(name);
        return records.map((r) => ({ name: `${namePart}@${r.name.replace(/\.$/, '')}`, port: r.port }));
      }
      const addrs = this.o.recordType === 'aaaa' ? await this.resolver.resolve6(name) : await this.resolver.resolve4(name);
      return addrs.map((ip) => ({ name: `${namePart}@${ip}` }));
    } catch (e) {
      throw new DiscoveryError(this.explain(e as NodeJS.ErrnoException));
    }
  }

  private explain(e: NodeJS.ErrnoException): string {
    const type = this.o.recordType.toUpperCase();
    const via = this.o.servers?.length ? this.o.servers.join(', ') : 'the system resolver';
    switch (e.code) {
      case 'ENOTFOUND':
        return `NXDOMAIN for ${this.o.name} (asked ${via})`;
      case 'ENODATA':
        return `no ${type} records for ${this.o.name} (asked ${via})`;
      case 'ECONNREFUSED':
      case 'ETIMEOUT':
      case 'ETIMEDOUT':
        return `DNS server did not answer for ${this.o.name}: ${e.code} (asked ${via})`;
      default:
        return `DNS ${type} query for ${this.o.name} failed: ${e.code ?? e.message} (asked ${via})`;
    }
  }
}
