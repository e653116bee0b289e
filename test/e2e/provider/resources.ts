import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dockerCli, engine, EngineError, sleep } from './engine';
import { goDuration, parseGoDuration } from './schema';

/**
 * Create, Read, Update and Delete of the four resource types, each doing what kreuzwerker/docker
 * v3.6.2 does (see schema.ts for where each was read): the same engine calls in the same order,
 * the same error messages, the same attributes read back. `Attrs` is a resource's state.
 */
export type Attrs = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Thrown by Create after the resource exists: Terraform keeps it in the state as tainted. */
export class TaintedError extends Error {
  constructor(
    message: string,
    readonly attrs: Attrs,
  ) {
    super(message);
  }
}

export interface ProviderContext {
  /** Where `terraform apply` runs: relative `build.context` and `upload.source` paths start here. */
  readonly cwd: string;
  /**
   * The provider process's `creationTime` (CF:47, 536): set when it starts a container, zero in a
   * fresh plan. Read compares a stopped container's FinishedAt with it.
   */
  creationTime: number;
}

interface ContainerInspect {
  Id: string;
  Name: string;
  Image: string;
  State: { Running: boolean; FinishedAt: string; Health?: { Status: string } };
  Config: {
    Image: string;
    Cmd: string[] | null;
    Entrypoint: string[] | null;
    Hostname: string;
    Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; StartInterval?: number; Retries?: number };
  };
  HostConfig: { RestartPolicy: { Name: string }; NetworkMode: string; Mounts?: { Type: string; Source: string; Target: string; ReadOnly?: boolean }[] };
}

// ---------------------------------------------------------------------------------------------
// docker_container

export async function createContainer(ctx: ProviderContext, c: Attrs): Promise<Attrs> {
  // findImage (image_funcs.go:319-354): a local image, or a pull, which this machine cannot do.
  try {
    await engine('GET', `/images/${encodeURIComponent(c.image)}/json`);
  } catch {
    throw new Error(`Unable to create container with image ${c.image}: unable to pull image ${c.image}: no registry can be reached from the test engine`);
  }
  for (const arg of c.command ?? []) if (arg === '') throw new Error('values for command may not be empty');
  const hc = c.healthcheck?.[0];
  const config = {
    Image: c.image,
    Cmd: c.command?.length ? c.command : undefined,
    Entrypoint: c.entrypoint?.length ? c.entrypoint : undefined,
    Env: c.env?.length ? c.env : undefined,
    Hostname: c.hostname,
    Labels: Object.fromEntries(((c.labels ?? []) as Attrs[]).map((l) => [l.label, l.value])),
    Healthcheck: hc
      ? {
          Test: hc.test,
          Interval: parseGoDuration(hc.interval ?? '0s'),
          Timeout: parseGoDuration(hc.timeout ?? '0s'),
          StartPeriod: parseGoDuration(hc.start_period ?? '0s'),
          Retries: hc.retries ?? 0,
        }
      : undefined,
    HostConfig: {
      RestartPolicy: { Name: c.restart ?? 'no' },
      // `volumes` with a volume name become binds (CF: volumes mapping); `mounts` go as Mounts.
      Binds: ((c.volumes ?? []) as Attrs[]).map((v) => `${v.volume_name}:${v.container_path}${v.read_only ? ':ro' : ''}`),
      Mounts: ((c.mounts ?? []) as Attrs[]).map((m) => ({ Type: m.type, Source: m.source, Target: m.target, ReadOnly: !!m.read_only })),
      NetworkMode: c.network_mode ?? 'bridge',
      Init: false,
      AutoRemove: false,
    },
  };
  let id: string;
  try {
    id = (await engine<{ Id: string }>('POST', `/containers/create?name=${encodeURIComponent(c.name)}`, config)).Id;
  } catch (e) {
    throw new Error(`Unable to create container: ${(e as Error).message}`);
  }
  // From here on the resource exists (d.SetId, CF:424): a later error leaves it tainted.
  const attrs: Attrs = { ...c, id };
  const fail = (msg: string) => new TaintedError(msg, attrs);
  if (c.networks_advanced?.length) {
    try {
      await engine('POST', '/networks/bridge/disconnect', { Container: id, Force: false });
    } catch (e) {
      if (!/is not connected to the network bridge/.test((e as Error).message)) throw fail(`Unable to disconnect the default network: ${(e as Error).message}`);
    }
    for (const n of c.networks_advanced as Attrs[]) {
      try {
        await engine('POST', `/networks/${encodeURIComponent(n.name)}/connect`, {
          Container: id,
          EndpointConfig: { Aliases: n.aliases, IPAMConfig: { IPv4Address: n.ipv4_address, IPv6Address: n.ipv6_address } },
        });
      } catch (e) {
        throw fail(`Unable to connect to network '${n.name}': ${(e as Error).message}`);
      }
    }
  }
  for (const u of (c.upload ?? []) as Attrs[]) {
    const given = [u.content, u.content_base64, u.source].filter((x) => x !== undefined && x !== '');
    if (given.length === 0) throw fail("error with upload content: one of 'content', 'content_base64', or 'source' must be set");
    if (given.length > 1) throw fail("error with upload content: only one of 'content', 'content_base64', or 'source' can be set");
    let content: Buffer;
    try {
      content = u.source !== undefined ? readFileSync(path.resolve(ctx.cwd, u.source)) : Buffer.from(u.content ?? '');
    } catch (e) {
      throw fail(`could not read file: ${(e as Error).message}`);
    }
    const mode = u.permissions ? parseInt(u.permissions, 8) : u.executable ? 0o744 : 0o644;
    try {
      await engine('PUT', `/containers/${id}/archive?path=/`, tarOf(u.file, content, mode), 'application/x-tar');
    } catch (e) {
      throw fail(`Unable to upload volume content: ${(e as Error).message}`);
    }
  }
  ctx.creationTime = Date.now();
  try {
    await engine('POST', `/containers/${id}/start`);
  } catch (e) {
    throw fail(`Unable to start container: ${(e as Error).message}`);
  }
  if (c.wait) {
    // CF:542-580: poll every second; no health state is an error at once; "unhealthy" goes on
    // polling; wait_timeout ends it.
    const deadline = Date.now() + (c.wait_timeout ?? 60) * 1000;
    for (;;) {
      const s = await engine<ContainerInspect>('GET', `/containers/${id}/json`);
      if (!s.State.Health) {
        throw fail("you have supplied a 'wait' argument, but the container does not have a healthcheck defined. Please remove the 'wait' argument or add a 'healthcheck' attribute");
      }
      if (s.State.Health.Status === 'healthy') break;
      if (Date.now() >= deadline) throw fail('container failed to be in healthy state');
      await sleep(1000);
    }
  }
  return readContainerAfterCreate(ctx, attrs);
}

/** Create's final Read (CF:631): one check 100 ms on; a container that already exited is deleted. */
async function readContainerAfterCreate(ctx: ProviderContext, attrs: Attrs): Promise<Attrs> {
  await sleep(100);
  const read = await readContainer(ctx, attrs);
  if (!read) throw new Error('container exited immediately');
  return read;
}

/**
 * Read (CF:634-828). Undefined when the resource is gone from the state. v3.6.2's refresh deletes
 * a container that is not running while must_run is true (kreuzwerker issues #590 and #850): in
 * a fresh plan (no creationTime) it stops and removes it and drops it from the state.
 */
export async function readContainer(ctx: ProviderContext, state: Attrs): Promise<Attrs | undefined> {
  let s: ContainerInspect;
  try {
    s = await engine<ContainerInspect>('GET', `/containers/${state.id}/json`);
  } catch (e) {
    if (e instanceof EngineError && e.status === 404) return undefined;
    throw e;
  }
  const mustRun = state.must_run ?? true;
  if (!s.State.Running && mustRun) {
    const exitedAfterCreate = ctx.creationTime > 0 && Date.parse(s.State.FinishedAt) > ctx.creationTime;
    await deleteContainer(state);
    if (ctx.creationTime === 0) return undefined; // errContainerFailedToBeCreated: deleted, dropped
    throw new Error(exitedAfterCreate ? 'container exited immediately' : 'container failed to be in running state');
  }
  const h = s.Config.Healthcheck;
  return {
    ...state,
    name: s.Name.replace(/^\//, ''),
    image: String(state.image).startsWith('sha256:') ? s.Image : s.Config.Image,
    command: s.Config.Cmd ?? undefined,
    entrypoint: s.Config.Entrypoint ?? undefined,
    hostname: s.Config.Hostname,
    restart: s.HostConfig.RestartPolicy.Name,
    network_mode: s.HostConfig.NetworkMode,
    mounts: (s.HostConfig.Mounts ?? []).map((m) => ({ target: m.Target, source: m.Source, type: m.Type, read_only: !!m.ReadOnly })),
    healthcheck: h
      ? [
          {
            test: h.Test ?? [],
            interval: goDuration(h.Interval ?? 0),
            timeout: goDuration(h.Timeout ?? 0),
            start_period: goDuration(h.StartPeriod ?? 0),
            start_interval: goDuration(h.StartInterval ?? 0),
            retries: h.Retries ?? 0,
          },
        ]
      : undefined,
  };
}

/** Update (CF:881-927): only the restart policy reaches the engine; every other change is stored. */
export async function updateContainer(state: Attrs, planned: Attrs): Promise<Attrs> {
  if (state.restart !== planned.restart) {
    try {
      await engine('POST', `/containers/${state.id}/update`, { RestartPolicy: { Name: planned.restart ?? 'no' } });
    } catch (e) {
      throw new Error(`Unable to update a container: ${(e as Error).message}`);
    }
  }
  return { ...planned, id: state.id };
}

/**
 * Delete (CF:929-977): ContainerStop with t = destroy_grace_seconds (0 when unset: the stop signal,
 * then SIGKILL at once), then a forced remove, then a wait until it is gone.
 */
export async function deleteContainer(state: Attrs): Promise<void> {
  const t = state.destroy_grace_seconds > 0 ? state.destroy_grace_seconds : 0;
  try {
    await engine('POST', `/containers/${state.id}/stop?t=${t}`);
  } catch (e) {
    throw new Error(`Error stopping container ${state.id}: ${(e as Error).message}`);
  }
  try {
    await engine('DELETE', `/containers/${state.id}?v=${state.remove_volumes ?? true ? 1 : 0}&force=1`);
  } catch (e) {
    if (!/No such container|is already in progress/i.test((e as Error).message)) throw new Error(`Error deleting container ${state.id}: ${(e as Error).message}`);
  }
  try {
    await engine('POST', `/containers/${state.id}/wait?condition=removed`);
  } catch (e) {
    if (!/No such container|is already in progress/i.test((e as Error).message)) throw new Error(`Error waiting for container removal '${state.id}': ${(e as Error).message}`);
  }
}

/** A tar archive holding one file at its path, uid/gid 0 and the given mode, as the provider's upload (CF:498-515). */
function tarOf(file: string, content: Buffer, mode: number): Buffer {
  const dir = mkdtempSync(path.join(tmpdir(), 'muster-upload-'));
  try {
    const rel = file.replace(/^\/+/, '');
    mkdirSync(path.join(dir, path.dirname(rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), content);
    chmodSync(path.join(dir, rel), mode);
    return execFileSync('tar', ['-C', dir, '--owner=0', '--group=0', '--numeric-owner', '-c', rel], { maxBuffer: 64 * 1024 * 1024 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// docker_network (no Update: every argument is ForceNew)

interface NetworkInspect {
  Id: string;
  Name: string;
  Driver: string;
  Internal: boolean;
  Attachable: boolean;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Config: { Subnet?: string; Gateway?: string; IPRange?: string; AuxiliaryAddresses?: Record<string, string> }[] | null };
}

export async function createNetwork(n: Attrs): Promise<Attrs> {
  let id: string;
  try {
    id = (
      await engine<{ Id: string }>('POST', '/networks/create', {
        Name: n.name,
        Driver: n.driver,
        Internal: !!n.internal,
        Attachable: !!n.attachable,
        EnableIPv6: n.ipv6 ? true : undefined,
        IPAM: {
          Driver: n.ipam_driver ?? 'default',
          Config: ((n.ipam_config ?? []) as Attrs[]).map((c) => ({ Subnet: c.subnet ?? '', Gateway: c.gateway ?? '', IPRange: c.ip_range ?? '', AuxiliaryAddresses: c.aux_address })),
        },
      })
    ).Id;
  } catch (e) {
    throw new Error(`Unable to create network: ${(e as Error).message}`);
  }
  const read = await readNetwork({ ...n, id });
  if (!read) throw new Error(`network ${n.name} was created but cannot be read`);
  return read;
}

export async function readNetwork(state: Attrs): Promise<Attrs | undefined> {
  let s: NetworkInspect;
  try {
    s = await engine<NetworkInspect>('GET', `/networks/${state.id}`);
  } catch {
    return undefined; // any inspect error drops it (N funcs:152-157)
  }
  const nonEmpty = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '' && !(typeof v === 'object' && v && Object.keys(v).length === 0)));
  return {
    ...state,
    name: s.Name,
    driver: s.Driver,
    internal: s.Internal,
    attachable: s.Attachable,
    ipv6: s.EnableIPv6,
    ipam_driver: s.IPAM.Driver,
    ipam_config: (s.IPAM.Config ?? []).map((c) => nonEmpty({ subnet: c.Subnet, gateway: c.Gateway, ip_range: c.IPRange, aux_address: c.AuxiliaryAddresses })),
  };
}

/** Delete polls while the network has endpoints, for 30 s at most (N funcs:192-213). */
export async function deleteNetwork(state: Attrs): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await engine('DELETE', `/networks/${state.id}`);
      return;
    } catch (e) {
      if (e instanceof EngineError && e.status === 404) return;
      if (!/has active endpoints/.test((e as Error).message)) throw e;
      if (Date.now() > deadline) throw new Error("timeout while waiting for state to become 'removed' (last state: 'pending', timeout: 30s)");
      await sleep(2000);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// docker_volume (no Update; the ID is the name)

export async function createVolume(v: Attrs): Promise<Attrs> {
  try {
    await engine('POST', '/volumes/create', { Name: v.name, Driver: v.driver });
  } catch (e) {
    throw new Error(`Unable to create volume: ${(e as Error).message}`);
  }
  return (await readVolume({ ...v, id: v.name }))!;
}

export async function readVolume(state: Attrs): Promise<Attrs | undefined> {
  try {
    const s = await engine<{ Name: string; Driver: string }>('GET', `/volumes/${encodeURIComponent(state.id)}`);
    return { ...state, name: s.Name, driver: s.Driver };
  } catch (e) {
    if (e instanceof EngineError && e.status === 404) return undefined; // the v3.6.2 fix #749
    throw new Error(`Unable to inspect volume: ${(e as Error).message}`);
  }
}

/** Retries while the volume is in use, for 30 s at most (V:136-175). */
export async function deleteVolume(state: Attrs): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await engine('DELETE', `/volumes/${encodeURIComponent(state.id)}?force=1`);
      return;
    } catch (e) {
      if (e instanceof EngineError && e.status === 404) return;
      if (!/volume is in use/.test((e as Error).message)) throw e;
      if (Date.now() > deadline) throw new Error("timeout while waiting for state to become 'removed' (last state: 'in_use', timeout: 30s)");
      await sleep(2000);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// docker_image

export async function createImage(ctx: ProviderContext, i: Attrs): Promise<Attrs> {
  const b = i.build?.[0];
  if (b) {
    // The legacy ImageBuild path (no buildx builder configured).
    const context = path.resolve(ctx.cwd, b.context);
    const args = ['build', '-q', '-t', i.name, '-f', path.join(context, b.dockerfile ?? 'Dockerfile')];
    for (const [k, v] of Object.entries((b.build_args ?? {}) as Record<string, string>)) args.push('--build-arg', `${k}=${v}`);
    try {
      await dockerCli([...args, context], { ...process.env, DOCKER_BUILDKIT: '0' });
    } catch (e) {
      throw new Error(`Error running legacy build: ${(e as Error).message}`);
    }
  }
  const read = await readImage({ ...i });
  if (!read) throw new Error(`Unable to read Docker image into resource: unable to pull image ${i.name}: no registry can be reached from the test engine`);
  return read;
}

export async function readImage(state: Attrs): Promise<Attrs | undefined> {
  try {
    const s = await engine<{ Id: string }>('GET', `/images/${encodeURIComponent(state.name)}/json`);
    return { ...state, image_id: s.Id, id: `${s.Id}${state.name}` };
  } catch {
    return undefined; // missing locally: dropped from the state
  }
}

export async function updateImage(ctx: ProviderContext, planned: Attrs): Promise<Attrs> {
  const read = await readImage(planned);
  if (!read) return createImage(ctx, planned);
  return read;
}

export async function deleteImage(state: Attrs): Promise<void> {
  if (state.keep_locally) return;
  try {
    await engine('DELETE', `/images/${encodeURIComponent(state.name)}`);
  } catch (e) {
    if (e instanceof EngineError && e.status === 404) return;
    throw new Error(`Unable to remove Docker image: ${(e as Error).message}`);
  }
}
