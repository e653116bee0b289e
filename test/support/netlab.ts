import { execFileSync } from 'node:child_process';

/**
 * Test hosts in network namespaces this test creates (iproute2, root): one namespace per host,
 * each with an address in 10.213.0.0/24 on a veth whose other end sits on a bridge inside a hub
 * namespace. Nothing touches the machine's own namespace. A partition moves hosts' ports to
 * another bridge; a cut link takes a port down. `close()` always removes every namespace.
 *
 * One setting of the machine's own is touched, and only for large labs: the kernel keeps one
 * neighbour (ARP) table for all namespaces, 1024 entries at most by default, and N hosts that all
 * talk to each other need N x (N - 1). At N = 100 the table overflowed, new neighbours were never
 * resolved and connects timed out, so a lab of that size raises the limits for its life and
 * `close()` puts them back.
 */
/**
 * How a host is cut off: its link taken down (the host loses its neighbours' addresses with the
 * carrier, and resolves them again once it is back: ARP, a try a second), or its port moved to a
 * bridge of its own (the carrier kept, as a firewall or routing partition).
 */
export type HostCut = 'link' | 'split';

export class NetLab {
  readonly prefix = `mt${process.pid % 100000}x${Math.floor(Math.random() * 1000)}`;
  readonly hub = `${this.prefix}-hub`;
  private hosts: string[] = [];
  private bridges = new Set<string>();
  /** Neighbour-table limits to put back on close, when this lab raised them. */
  private savedNeighbourLimits?: string[];

  private ip(...args: string[]): void {
    execFileSync('ip', args, { stdio: 'pipe' });
  }

  /** Creates `count` hosts, all on bridge br0. */
  setup(count: number): void {
    this.raiseNeighbourLimits(count * (count - 1));
    this.ip('netns', 'add', this.hub);
    this.ensureBridge('br0');
    for (let i = 0; i < count; i++) {
      const ns = `${this.prefix}-h${i}`;
      this.ip('netns', 'add', ns);
      this.hosts.push(ns);
      this.ip('-n', this.hub, 'link', 'add', `p${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      this.ip('-n', this.hub, 'link', 'set', `p${i}`, 'master', 'br0', 'up');
      this.ip('-n', ns, 'addr', 'add', `${this.address(i)}/24`, 'dev', 'eth0');
      this.ip('-n', ns, 'addr', 'add', `${this.address6(i)}/64`, 'dev', 'eth0', 'nodad');
      this.ip('-n', ns, 'link', 'set', 'eth0', 'up');
      this.ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
  }

  private ensureBridge(br: string): void {
    if (this.bridges.has(br)) return;
    this.ip('-n', this.hub, 'link', 'add', br, 'type', 'bridge');
    this.ip('-n', this.hub, 'link', 'set', br, 'up');
    this.bridges.add(br);
  }

  address(i: number): string {
    return `10.213.0.${i + 2}`;
  }

  /** The host's IPv6 address (fd00:213::/64, unique local). */
  address6(i: number): string {
    return `fd00:213::${i + 2}`;
  }

  netns(i: number): string {
    return this.hosts[i];
  }

  /** Puts each group of hosts on its own bridge: hosts talk only within their group. */
  split(...groups: number[][]): void {
    groups.forEach((g, gi) => {
      const br = `br${gi}`;
      this.ensureBridge(br);
      for (const i of g) this.ip('-n', this.hub, 'link', 'set', `p${i}`, 'master', br);
    });
  }

  /** Every host back on br0. */
  heal(): void {
    for (let i = 0; i < this.hosts.length; i++) this.ip('-n', this.hub, 'link', 'set', `p${i}`, 'master', 'br0');
  }

  /** Takes a host's link down (silent loss: no reset reaches anyone) or back up. */
  link(i: number, up: boolean): void {
    this.ip('-n', this.hub, 'link', 'set', `p${i}`, up ? 'up' : 'down');
  }

  /** Cuts host `i` off from all the others (`how`: see HostCut), or (`cut` false) ends that cut. */
  isolate(i: number, how: HostCut, cut: boolean): void {
    if (how === 'link') this.link(i, !cut);
    else if (cut) this.split(this.hosts.map((_, h) => h).filter((h) => h !== i), [i]);
    else this.heal();
  }

  close(): void {
    for (const ns of [...this.hosts, this.hub]) {
      try {
        this.ip('netns', 'del', ns);
      } catch {
        // already gone
      }
    }
    this.hosts = [];
    if (this.savedNeighbourLimits) {
      execFileSync('sysctl', ['-qw', ...this.savedNeighbourLimits]);
      this.savedNeighbourLimits = undefined;
    }
  }

  private raiseNeighbourLimits(entries: number): void {
    const keys = ['net.ipv4.neigh.default.gc_thresh2', 'net.ipv4.neigh.default.gc_thresh3'];
    const current = keys.map((k) => Number(execFileSync('sysctl', ['-n', k], { encoding: 'utf8' }).trim()));
    if (entries * 2 <= current[1]) return;
    this.savedNeighbourLimits = keys.map((k, i) => `${k}=${current[i]}`);
    execFileSync('sysctl', ['-qw', `${keys[0]}=${Math.max(current[0], entries * 2)}`, `${keys[1]}=${Math.max(current[1], entries * 4)}`]);
  }
}
