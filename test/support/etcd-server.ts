import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { waitFor } from './agents';
import { ServerProcess } from './processes';

/** A real etcd (Debian's etcd-server) on a loopback address, with its own data dir. */
export class EtcdServer {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'muster-etcd-'));
  private proc: ServerProcess;

  constructor(readonly host: string, readonly clientPort = 2379, readonly peerPort = 2380) {
    const client = `http://${host}:${clientPort}`;
    const peer = `http://${host}:${peerPort}`;
    this.proc = new ServerProcess('etcd', 'etcd', [
      '--name', 'test',
      '--data-dir', path.join(this.dir, 'data'),
      '--listen-client-urls', client,
      '--advertise-client-urls', client,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `test=${peer}`,
      '--log-level', 'error',
    ], { ...process.env, ETCD_UNSUPPORTED_ARCH: process.arch === 'arm64' ? 'arm64' : '' });
  }

  get url(): string {
    return `http://${this.host}:${this.clientPort}`;
  }

  client(): Etcd3 {
    return new Etcd3({ hosts: this.url });
  }

  async start(): Promise<void> {
    this.proc.start();
    const c = this.client();
    try {
      await waitFor(async () => {
        if (!this.proc.running) throw new Error(`etcd exited: ${this.proc.output}`);
        await c.get('health-probe').string();
        return true;
      }, 20_000, `etcd on ${this.url}`);
    } finally {
      c.close();
    }
  }

  /** SIGKILL, as a crash or an outage. */
  kill(): Promise<void> {
    return this.proc.stop('SIGKILL');
  }

  async close(): Promise<void> {
    await this.proc.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
