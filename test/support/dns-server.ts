import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from './agents';
import { ServerProcess } from './processes';

export interface DnsRecords {
  /** name (relative to the zone) -> IPv4 addresses */
  a?: Record<string, string[]>;
  /** name (relative to the zone) -> IPv6 addresses */
  aaaa?: Record<string, string[]>;
  /** name (relative to the zone) -> SRV targets (relative names) with ports */
  srv?: Record<string, { target: string; port: number }[]>;
}

/**
 * A real BIND 9 `named` serving one zone on a loopback address; records can be changed live.
 * named binds only to addresses configured on an interface, so use 127.0.0.1 (or ::1) with a port
 * of the test's own rather than another 127.x address.
 */
export class DnsServer {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'muster-dns-'));
  private proc: ServerProcess;
  private serial = 1;

  constructor(readonly host: string, readonly port: number, readonly zone: string) {
    writeFileSync(
      path.join(this.dir, 'named.conf'),
      `options {
  directory "${this.dir}";
  pid-file "${this.dir}/named.pid";
  listen-on port ${port} { ${host}; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
};
controls { };
zone "${zone}" { type primary; file "${this.dir}/zone.db"; };
`,
    );
    this.proc = new ServerProcess('named', 'named', ['-g', '-n', '1', '-c', path.join(this.dir, 'named.conf')]);
  }

  get server(): string {
    return `${this.host}:${this.port}`;
  }

  private writeZone(r: DnsRecords): void {
    const lines = [
      `$ORIGIN ${this.zone}.`,
      '$TTL 1',
      `@ IN SOA ns.${this.zone}. admin.${this.zone}. ${this.serial++} 60 60 600 1`,
      `@ IN NS ns.${this.zone}.`,
      `ns IN A ${this.host}`,
    ];
    for (const [name, ips] of Object.entries(r.a ?? {})) for (const ip of ips) lines.push(`${name} IN A ${ip}`);
    for (const [name, ips] of Object.entries(r.aaaa ?? {})) for (const ip of ips) lines.push(`${name} IN AAAA ${ip}`);
    for (const [name, ts] of Object.entries(r.srv ?? {})) for (const t of ts) lines.push(`${name} IN SRV 10 10 ${t.port} ${t.target}`);
    writeFileSync(path.join(this.dir, 'zone.db'), lines.join('\n') + '\n');
  }

  async start(records: DnsRecords): Promise<void> {
    this.writeZone(records);
    this.proc.start();
    const r = new Resolver({ timeout: 500, tries: 1 });
    r.setServers([this.server]);
    await waitFor(async () => {
      if (!this.proc.running) throw new Error(`named exited: ${this.proc.output}`);
      return (await r.resolve4(`ns.${this.zone}`)).length > 0;
    }, 20_000, `named on ${this.server}`);
  }

  /** Rewrites the zone and has named reload it (SIGHUP), then waits until it serves the new serial. */
  async update(records: DnsRecords): Promise<void> {
    this.writeZone(records);
    const want = this.serial - 1;
    this.proc.signal('SIGHUP');
    const r = new Resolver({ timeout: 500, tries: 1 });
    r.setServers([this.server]);
    await waitFor(async () => (await r.resolveSoa(this.zone)).serial === want, 10_000, `named to load serial ${want}`);
  }

  async close(): Promise<void> {
    await this.proc.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
