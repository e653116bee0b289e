import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from './agents';
import { ServerProcess } from './processes';

/** A sample of Prometheus's instant-query answer (GET /api/v1/query): labels and the value. */
export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** A real Prometheus (Debian's `prometheus`) on a loopback address, scraping the given targets every second. */
export class PrometheusServer {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'muster-prometheus-'));
  private readonly proc: ServerProcess;

  constructor(readonly host: string, targets: string[], readonly port = 9090) {
    const config = [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 900ms',
      'scrape_configs:',
      '  - job_name: muster',
      '    static_configs:',
      `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
      '',
    ].join('\n');
    writeFileSync(path.join(this.dir, 'prometheus.yml'), config);
    this.proc = new ServerProcess('prometheus', 'prometheus', [
      `--config.file=${path.join(this.dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(this.dir, 'data')}`,
      `--web.listen-address=${host}:${port}`,
      '--log.level=warn',
    ]);
  }

  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  async start(): Promise<void> {
    this.proc.start();
    await waitFor(async () => {
      if (!this.proc.running) throw new Error(`prometheus exited: ${this.proc.output}`);
      return (await fetch(`${this.url}/-/ready`)).ok;
    }, 30_000, `prometheus on ${this.url}`);
  }

  /** An instant query through Prometheus's own HTTP API. */
  async query(promql: string): Promise<PromSample[]> {
    const r = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await r.json()) as { status: string; error?: string; data?: { resultType: string; result: PromSample[] } };
    if (body.status !== 'success') throw new Error(`query ${promql} failed: ${body.error}`);
    return body.data!.result;
  }

  async close(): Promise<void> {
    await this.proc.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
