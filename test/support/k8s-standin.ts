import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * STAND-IN for the Kubernetes API server, which cannot run here. It serves the recorded
 * responses in test/fixtures/k8s over HTTPS with a certificate from its own CA, checks the bearer
 * token like the API server does (401 Status otherwise), and rewrites the recorded pod IPs to
 * addresses the test chose. Everything else about the agent's k8s discovery is real.
 */
export class K8sApiStandIn {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'muster-k8s-'));
  readonly requests: string[] = [];
  private server?: https.Server;
  /** When false, EndpointSlices answer 404 (an API server without discovery.k8s.io/v1). */
  slices = true;

  /** `fixtures`: the directory of test/fixtures whose responses are served (its README says what they are). */
  constructor(readonly token: string, readonly ipMap: Record<string, string>, readonly fixtures = 'k8s') {
    const ssl = (args: string[]) => execFileSync('openssl', args, { cwd: this.dir, stdio: 'pipe' });
    ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=kubernetes-ca']);
    ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=kube-apiserver']);
    writeFileSync(path.join(this.dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:kubernetes.default.svc\n');
    ssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext']);
    writeFileSync(path.join(this.dir, 'token'), `${token}\n`);
  }

  get caFile(): string {
    return path.join(this.dir, 'ca.crt');
  }

  get tokenFile(): string {
    return path.join(this.dir, 'token');
  }

  get url(): string {
    return `https://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  private fixture(name: string): string {
    let text = readFileSync(path.join(__dirname, '../fixtures', this.fixtures, name), 'utf8');
    for (const [from, to] of Object.entries(this.ipMap)) text = text.split(`"${from}"`).join(`"${to}"`);
    return text;
  }

  async start(): Promise<void> {
    const status = (code: number, reason: string, message: string) =>
      JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
    this.server = https.createServer({ key: readFileSync(path.join(this.dir, 'server.key')), cert: readFileSync(path.join(this.dir, 'server.crt')) }, (req, res) => {
      this.requests.push(`${req.method} ${req.url}`);
      res.setHeader('Content-Type', 'application/json');
      if (req.headers.authorization !== `Bearer ${this.token}`) {
        res.writeHead(401).end(status(401, 'Unauthorized', 'Unauthorized'));
        return;
      }
      const url = new URL(req.url ?? '/', 'https://x');
      if (url.pathname === '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices' && url.searchParams.get('labelSelector') === 'kubernetes.io/service-name=muster') {
        if (this.slices) res.writeHead(200).end(this.fixture('endpointslices.json'));
        else res.writeHead(404).end(status(404, 'NotFound', 'the server could not find the requested resource'));
        return;
      }
      if (url.pathname === '/api/v1/namespaces/default/endpoints/muster') {
        res.writeHead(200).end(this.fixture('endpoints.json'));
        return;
      }
      res.writeHead(404).end(status(404, 'NotFound', 'the server could not find the requested resource'));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeAllConnections();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
