import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * TEST TOOL, not a deployer: `cdktf deploy` is how users deploy. Terraform's Docker provider cannot
 * be downloaded here, so the end-to-end tests apply a synthesized `cdk.tf.json` with this small
 * applier. It maps exactly the `docker_network`, `docker_volume`, `docker_image` and
 * `docker_container` attributes the kit emits to the Docker engine (CLI, and the Engine API for
 * containers so healthchecks and uploads are passed as the provider passes them), resolves the
 * `${...}` references between them and `var.*` (from TF_VAR_* like Terraform), and refuses,
 * before creating anything, every resource type, attribute or expression it does not implement,
 * so it can never silently diverge from what Terraform would do.
 */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const SUPPORTED: Record<string, string[]> = {
  docker_network: ['name', 'driver', 'ipam_config', 'ipv6', 'depends_on'],
  docker_volume: ['name', 'depends_on'],
  docker_image: ['name', 'keep_locally', 'build', 'triggers', 'depends_on'],
  docker_container: ['name', 'image', 'command', 'env', 'hostname', 'restart', 'networks_advanced', 'volumes', 'healthcheck', 'labels', 'upload', 'depends_on'],
};
const SUPPORTED_NESTED: Record<string, string[]> = {
  'docker_network.ipam_config': ['subnet', 'gateway'],
  'docker_image.build': ['context', 'dockerfile', 'build_args'],
  'docker_container.networks_advanced': ['name', 'ipv4_address', 'ipv6_address', 'aliases'],
  'docker_container.volumes': ['volume_name', 'container_path'],
  'docker_container.healthcheck': ['test', 'interval', 'timeout', 'start_period', 'retries'],
  'docker_container.labels': ['label', 'value'],
  'docker_container.upload': ['file', 'content', 'source', 'permissions'],
};
const ORDER = ['docker_network', 'docker_volume', 'docker_image', 'docker_container'];

export class ApplierError extends Error {}

interface Res {
  type: string;
  id: string;
  body: Json;
  deps: Set<string>;
}

export class StackApplier {
  private readonly json: Json;
  private readonly resources: Res[] = [];
  private readonly state = new Map<string, Json>();
  private readonly created: { type: string; name: string }[] = [];

  /**
   * `envOverrides` (tests only) replaces variables of one container's `env`, e.g. a wrong cookie on
   * one node; it is applied on top of the plan, never instead of it.
   */
  constructor(
    private readonly stackDir: string,
    private readonly vars: Record<string, string>,
    private readonly envOverrides: Record<string, Record<string, string>> = {},
  ) {
    this.json = JSON.parse(readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8')) as Json;
    this.check();
  }

  /** Everything is checked before anything is created: nothing is half-applied because of the applier. */
  private check(): void {
    const problems: string[] = [];
    for (const key of Object.keys(this.json)) if (!['//', 'terraform', 'provider', 'resource', 'variable', 'output'].includes(key)) problems.push(`top-level block '${key}' is not implemented`);
    for (const [name, cfgs] of Object.entries(this.json.provider ?? {})) {
      if (name !== 'docker') problems.push(`provider '${name}' is not implemented`);
      for (const c of cfgs as Json[]) if (Object.keys(c).length) problems.push(`provider docker settings ${Object.keys(c).join(', ')} are not implemented`);
    }
    for (const [type, byId] of Object.entries((this.json.resource ?? {}) as Json)) {
      if (!SUPPORTED[type]) {
        problems.push(`resource type '${type}' is not implemented by the test applier`);
        continue;
      }
      for (const [id, body] of Object.entries(byId as Json)) {
        const deps = new Set<string>();
        for (const [attr, v] of Object.entries(body as Json)) {
          if (attr === '//') continue;
          if (!SUPPORTED[type].includes(attr)) problems.push(`${type}.${id}: attribute '${attr}' is not implemented by the test applier`);
          const nested = SUPPORTED_NESTED[`${type}.${attr}`];
          if (nested) {
            for (const item of Array.isArray(v) ? v : [v]) {
              for (const k of Object.keys(item)) if (!nested.includes(k)) problems.push(`${type}.${id}.${attr}: attribute '${k}' is not implemented by the test applier`);
            }
          }
        }
        for (const d of (body as Json).depends_on ?? []) deps.add(d);
        this.walkStrings(body, (s) => {
          for (const m of s.matchAll(/\$\{([^}]*)\}/g)) {
            const ref = m[1];
            if (/^var\.[A-Za-z0-9_]+$/.test(ref)) {
              if (this.variable(ref.slice(4)) === undefined) problems.push(`variable '${ref.slice(4)}' has no value: set TF_VAR_${ref.slice(4)}`);
            } else if (/^docker_(image|volume|network|container)\.[A-Za-z0-9_-]+\.(image_id|name)$/.test(ref)) {
              deps.add(ref.split('.').slice(0, 2).join('.'));
            } else problems.push(`${type}.${id}: expression '\${${ref}}' is not implemented by the test applier`);
          }
        });
        this.resources.push({ type, id, body: body as Json, deps });
      }
    }
    if (problems.length) throw new ApplierError(`cannot apply ${this.stackDir}:\n  ${problems.join('\n  ')}`);
  }

  private walkStrings(v: unknown, fn: (s: string) => void): void {
    if (typeof v === 'string') fn(v);
    else if (Array.isArray(v)) v.forEach((x) => this.walkStrings(x, fn));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (k !== '//') this.walkStrings(x, fn);
  }

  private variable(name: string): string | undefined {
    return this.vars[name] ?? (this.json.variable?.[name]?.default as string | undefined);
  }

  private resolve<T>(v: T): T {
    if (typeof v === 'string') {
      return v.replace(/\$\{([^}]*)\}/g, (_, ref: string) => {
        if (ref.startsWith('var.')) return this.variable(ref.slice(4))!;
        const [type, id, attr] = ref.split('.');
        const st = this.state.get(`${type}.${id}`);
        if (!st) throw new ApplierError(`${ref} is used before ${type}.${id} exists`);
        return String(st[attr]);
      }) as T;
    }
    if (Array.isArray(v)) return v.map((x) => this.resolve(x)) as T;
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([k]) => k !== '//').map(([k, x]) => [k, this.resolve(x)])) as T;
    return v;
  }

  /** Creates every resource, dependencies first. */
  async apply(): Promise<void> {
    const done = new Set<string>();
    const pending = [...this.resources].sort((a, b) => ORDER.indexOf(a.type) - ORDER.indexOf(b.type));
    while (pending.length) {
      const i = pending.findIndex((r) => [...r.deps].every((d) => done.has(d)));
      if (i < 0) throw new ApplierError(`dependency cycle among ${pending.map((r) => `${r.type}.${r.id}`).join(', ')}`);
      const [r] = pending.splice(i, 1);
      await this.create(r);
      done.add(`${r.type}.${r.id}`);
    }
  }

  private docker(args: string[], env: NodeJS.ProcessEnv = process.env): string {
    return execFileSync('docker', args, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 }).trim();
  }

  private async create(r: Res): Promise<void> {
    const b = this.resolve(r.body);
    const key = `${r.type}.${r.id}`;
    switch (r.type) {
      case 'docker_network': {
        const args = ['network', 'create', '--driver', b.driver ?? 'bridge'];
        if (b.ipv6) args.push('--ipv6');
        for (const c of b.ipam_config ?? []) {
          args.push('--subnet', c.subnet);
          if (c.gateway) args.push('--gateway', c.gateway);
        }
        this.docker([...args, b.name]);
        this.created.push({ type: 'network', name: b.name });
        this.state.set(key, { name: b.name });
        return;
      }
      case 'docker_volume':
        this.docker(['volume', 'create', b.name]);
        this.created.push({ type: 'volume', name: b.name });
        this.state.set(key, { name: b.name });
        return;
      case 'docker_image': {
        if (b.build) {
          const args = ['build', '-q', '-t', b.name, '-f', path.join(this.stackDir, b.build.context, b.build.dockerfile ?? 'Dockerfile')];
          for (const [k, v] of Object.entries(b.build.build_args ?? {})) args.push('--build-arg', `${k}=${v}`);
          this.docker([...args, path.join(this.stackDir, b.build.context)], { ...process.env, DOCKER_BUILDKIT: '0' });
        } else {
          try {
            this.docker(['image', 'inspect', b.name]);
          } catch {
            throw new ApplierError(`image ${b.name} is not present locally, and no image can be pulled here (set its TF_VAR_* to a local image)`);
          }
        }
        this.state.set(key, { name: b.name, image_id: this.docker(['image', 'inspect', '--format', '{{.Id}}', b.name]) });
        return;
      }
      case 'docker_container':
        await this.createContainer(key, b);
        return;
    }
  }

  private async createContainer(key: string, b: Json): Promise<void> {
    const ns = (d?: string) => (d ? Math.round(parseFloat(d) * ({ ms: 1e6, s: 1e9, m: 6e10, h: 3.6e12 } as Record<string, number>)[d.replace(/[\d.]/g, '')]) : undefined);
    const nets = (b.networks_advanced ?? []) as Json[];
    const overrides = this.envOverrides[b.name] ?? {};
    const env = ((b.env ?? []) as string[]).map((e) => {
      const k = e.slice(0, e.indexOf('='));
      return k in overrides ? `${k}=${overrides[k]}` : e;
    });
    const spec: Json = {
      Image: b.image,
      Cmd: b.command,
      Env: env,
      Hostname: b.hostname,
      Labels: Object.fromEntries(((b.labels ?? []) as Json[]).map((l) => [l.label, l.value])),
      Healthcheck: b.healthcheck
        ? { Test: b.healthcheck.test, Interval: ns(b.healthcheck.interval), Timeout: ns(b.healthcheck.timeout), StartPeriod: ns(b.healthcheck.start_period), Retries: b.healthcheck.retries }
        : undefined,
      HostConfig: {
        RestartPolicy: { Name: b.restart ?? 'no' },
        Mounts: ((b.volumes ?? []) as Json[]).map((v) => ({ Type: 'volume', Source: v.volume_name, Target: v.container_path })),
        NetworkMode: nets[0]?.name,
      },
      NetworkingConfig: nets.length
        ? { EndpointsConfig: { [nets[0].name]: { IPAMConfig: { IPv4Address: nets[0].ipv4_address, IPv6Address: nets[0].ipv6_address }, Aliases: nets[0].aliases } } }
        : undefined,
    };
    if (nets.length > 1) throw new ApplierError(`${key}: more than one network is not implemented by the test applier`);
    const created = (await engine('POST', `/containers/create?name=${encodeURIComponent(b.name)}`, JSON.stringify(spec))) as Json;
    this.created.push({ type: 'container', name: b.name });
    for (const u of (b.upload ?? []) as Json[]) {
      // `source` is read at apply time, as the provider does; `permissions` is the file's mode.
      const content = u.source !== undefined ? readFileSync(path.resolve(this.stackDir, u.source)) : Buffer.from(u.content ?? '');
      await engine('PUT', `/containers/${created.Id}/archive?path=/`, tarOf(u.file, content, u.permissions ? parseInt(u.permissions, 8) : 0o644), 'application/x-tar');
    }
    await engine('POST', `/containers/${created.Id}/start`);
    this.state.set(key, { name: b.name, id: created.Id });
  }

  /** Removes what apply created (images are kept, as keep_locally says). */
  destroy(): void {
    for (const c of [...this.created].reverse()) {
      try {
        if (c.type === 'container') this.docker(['rm', '-f', '-v', c.name]);
        if (c.type === 'network') this.docker(['network', 'rm', c.name]);
        if (c.type === 'volume') this.docker(['volume', 'rm', '-f', c.name]);
      } catch {
        // already gone
      }
    }
    this.created.length = 0;
  }
}

/** A tar archive holding one file at its absolute path, mode 0644, as the provider's `upload`. */
function tarOf(file: string, content: Buffer, mode: number): Buffer {
  const dir = mkdtempSync(path.join(tmpdir(), 'muster-upload-'));
  try {
    const rel = file.replace(/^\/+/, '');
    mkdirSync(path.join(dir, path.dirname(rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), content);
    chmodSync(path.join(dir, rel), mode);
    return execFileSync('tar', ['-C', dir, '--owner=0', '--group=0', '-c', rel], { maxBuffer: 64 * 1024 * 1024 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A call to the Docker Engine API on its unix socket. */
function engine(method: string, pathname: string, body?: string | Buffer, contentType = 'application/json'): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: '/var/run/docker.sock', path: pathname, method, headers: body ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) } : {} }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        if ((res.statusCode ?? 500) >= 300) return reject(new ApplierError(`Docker Engine ${method} ${pathname}: HTTP ${res.statusCode} ${text.trim()}`));
        try {
          resolve(text ? JSON.parse(text) : {});
        } catch {
          resolve({});
        }
      });
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}
