import { readFileSync } from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import { z } from 'zod/v3';
import { DiscoveryError, type DiscoveredNode, type Discovery } from './strategy';
import { DEFAULT_TUNING } from '../tuning';

const T = DEFAULT_TUNING.lookups;

export interface K8sOptions {
  apiserver: string;
  serviceName: string;
  namespace: string;
  addressType: 'ip' | 'dns' | 'hostname';
  suffix: string;
  tokenFile: string;
  caFile: string;
  namePart: string;
}

// Only the fields Muster reads; the API returns many more.
const endpointSliceList = z.object({
  items: z.array(
    z.object({
      endpoints: z
        .array(z.object({ addresses: z.array(z.string()), hostname: z.string().optional(), conditions: z.object({ ready: z.boolean().optional() }).optional() }))
        .nullish(),
    }),
  ),
});
const endpointAddress = z.object({ ip: z.string(), hostname: z.string().optional() });
const endpoints = z.object({
  subsets: z.array(z.object({ addresses: z.array(endpointAddress).nullish(), notReadyAddresses: z.array(endpointAddress).nullish() })).nullish(),
});
const statusBody = z.object({ message: z.string().optional() });

interface Address {
  ip: string;
  hostname?: string;
}

/**
 * `cluster.k8s`: the addresses behind a (headless) Service, read from its EndpointSlices, or from
 * Endpoints where EndpointSlices are not served. Not-ready addresses are included on purpose:
 * readiness depends on membership, so leaving them out would deadlock a cold start.
 */
export class K8sDiscovery implements Discovery {
  constructor(private readonly o: K8sOptions) {}

  async discover(): Promise<DiscoveredNode[]> {
    const ns = encodeURIComponent(this.o.namespace);
    const svc = encodeURIComponent(this.o.serviceName);
    const slicesPath = `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices?labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${this.o.serviceName}`)}`;
    let addresses: Address[];
    const slices = await this.get(slicesPath);
    if (slices.status === 404) {
      const eps = await this.get(`/api/v1/namespaces/${ns}/endpoints/${svc}`);
      this.check(eps, `/api/v1/namespaces/${ns}/endpoints/${svc}`);
      const parsed = endpoints.safeParse(eps.body);
      if (!parsed.success) throw new DiscoveryError(`API server returned Endpoints in an unexpected shape for service ${this.o.serviceName}`);
      addresses = (parsed.data.subsets ?? []).flatMap((s) => [...(s.addresses ?? []), ...(s.notReadyAddresses ?? [])]);
    } else {
      this.check(slices, slicesPath);
      const parsed = endpointSliceList.safeParse(slices.body);
      if (!parsed.success) throw new DiscoveryError(`API server returned EndpointSlices in an unexpected shape for service ${this.o.serviceName}`);
      addresses = parsed.data.items.flatMap((i) => (i.endpoints ?? []).flatMap((e) => e.addresses.map((ip) => ({ ip, hostname: e.hostname }))));
    }
    const names = new Set<string>();
    for (const a of addresses) {
      const host = this.host(a);
      if (host) names.add(`${this.o.namePart}@${host}`);
    }
    return [...names].map((name) => ({ name }));
  }

  /** The host part for one address, by `address_type`. */
  private host(a: Address): string | undefined {
    const { namespace, suffix, serviceName } = this.o;
    switch (this.o.addressType) {
      case 'ip':
        return a.ip;
      case 'dns':
        return `${a.ip.replace(/[.:]/g, '-')}.${namespace}.${suffix}`;
      case 'hostname':
        // Pods of a StatefulSet behind a headless service have a hostname; others cannot be named this way.
        return a.hostname ? `${a.hostname}.${serviceName}.${namespace}.${suffix}` : undefined;
    }
  }

  private check(res: { status: number; body: unknown }, path: string): void {
    if (res.status >= 200 && res.status < 300) return;
    const msg = statusBody.safeParse(res.body).data?.message;
    throw new DiscoveryError(`API server ${this.o.apiserver} answered HTTP ${res.status} for GET ${path}${msg ? `: ${msg}` : ''}`);
  }

  private readCredential(file: string, what: string, required: boolean): string | undefined {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (e) {
      if (!required && (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new DiscoveryError(`cannot read the service-account ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  }

  private get(path: string): Promise<{ status: number; body: unknown }> {
    const token = this.readCredential(this.o.tokenFile, 'token', true);
    const url = new URL(path, this.o.apiserver);
    const isHttps = url.protocol === 'https:';
    const ca = isHttps ? this.readCredential(this.o.caFile, 'CA certificate', false) : undefined;
    const lib = isHttps ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(
        url,
        { method: 'GET', headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' }, ca, timeout: T.k8sRequestTimeoutMs },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => {
            let body: unknown;
            try {
              body = JSON.parse(text);
            } catch {
              body = undefined;
            }
            resolve({ status: res.statusCode ?? 0, body });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (e: NodeJS.ErrnoException) => reject(new DiscoveryError(`cannot reach API server ${this.o.apiserver}: ${e.code ?? e.message}`)));
      req.end();
    });
  }
}
