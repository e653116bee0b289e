import { lookup, Resolver } from 'node:dns/promises';
import { ipFamily } from '../config/ip-family';
import { PeerError } from './connection';
import { DEFAULT_TUNING } from '../tuning';

const T = DEFAULT_TUNING.lookups;

export type Family = 4 | 6;

/**
 * Turns a node's host part into the address to connect to or listen on: IP literals as they are,
 * names through the system resolver, or through `cluster.dns.servers` when those are set
 * (split-horizon DNS, tests).
 */
export class HostResolver {
  private readonly resolver?: Resolver;

  constructor(readonly family: Family, servers?: string[]) {
    if (servers?.length) {
      this.resolver = new Resolver({ timeout: T.dnsTimeoutMs, tries: T.dnsTries });
      this.resolver.setServers(servers);
    }
  }

  async resolve(host: string): Promise<string> {
    const literal = ipFamily(host);
    if (literal) {
      if (literal !== this.family) throw new PeerError('unreachable', `${host} is an IPv${literal} address but cluster.proto_dist uses IPv${this.family}`);
      return host;
    }
    try {
      if (this.resolver) {
        const addrs = this.family === 6 ? await this.resolver.resolve6(host) : await this.resolver.resolve4(host);
        return addrs[0];
      }
      const { address } = await lookup(host, { family: this.family });
      return address;
    } catch (e) {
      throw new PeerError('unreachable', `cannot resolve ${host} (IPv${this.family}): ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  }
}
