/**
 * The part of kreuzwerker/docker v3.6.2's schema (the version @cdktf/provider-docker 12.0.3 pins)
 * that the kit uses, as the test provider models it. Read from the provider's source at tag v3.6.2
 * (commit 623b0b21), internal/provider/: `resource_docker_container.go` (C:line),
 * `resource_docker_container_funcs.go` (CF:line), `resource_docker_network.go` (N:line),
 * `resource_docker_volume.go` (V:line), `resource_docker_image.go` (I:line). An attribute that is not
 * here is refused by the applier before anything is created.
 *
 * - forceNew: a change plans a replacement (destroy, then create).
 * - computed: Optional+Computed: left out of the config, whatever the state holds is no diff.
 * - default: the value a left-out, non-computed attribute has in the plan.
 * - set: order-free (a Set in the schema); otherwise a List, where order matters.
 * - readBack: Read sets it from the engine, so a second plan compares the config with what the
 *   engine reports; otherwise the state keeps what was applied.
 * - nested: a block's attributes. A changed element of a Set of blocks is a new element, so it
 *   replaces the resource exactly when one of its nested attributes is ForceNew (SDK v2 diffSet).
 */
export interface AttrSpec {
  forceNew: boolean;
  computed?: boolean;
  default?: unknown;
  set?: boolean;
  readBack?: boolean;
  nested?: Record<string, AttrSpec>;
  /** For Update: the provider acts on a change of this attribute (ContainerUpdate); others are only stored. */
  updatable?: boolean;
  source: string;
}

const fn = (source: string, more: Partial<AttrSpec> = {}): AttrSpec => ({ forceNew: true, source, ...more });
const inPlace = (source: string, more: Partial<AttrSpec> = {}): AttrSpec => ({ forceNew: false, source, ...more });

export const SCHEMA: Record<string, Record<string, AttrSpec>> = {
  docker_container: {
    name: fn('C:38-43', { readBack: true }),
    image: fn('C:129-134; Read sets .Image when the value starts with sha256: (CF:716-724)', { readBack: true }),
    command: fn('C:151-158 (List, O+C); Read: Config.Cmd (CF:728)', { computed: true, readBack: true }),
    entrypoint: fn('C:160-167 (List, O+C); Read: Config.Entrypoint (CF:729)', { computed: true, readBack: true }),
    env: fn('C:564-572 (Set, O+C); not read (CF:769-774)', { computed: true, set: true }),
    hostname: fn('C:136-142 (O+C); Read: Config.Hostname (CF:726)', { computed: true, readBack: true }),
    restart: inPlace('C:218-224, default "no"; Read: HostConfig.RestartPolicy.Name (CF:736); Update applies it', { default: 'no', readBack: true, updatable: true }),
    must_run: inPlace('C:110-115', { default: true }),
    wait: inPlace('C:67-72', { default: false }),
    wait_timeout: inPlace('C:74-79', { default: 60 }),
    destroy_grace_seconds: inPlace('C:666-670 (none: ContainerStop with t=0, CF:932-943)'),
    remove_volumes: inPlace('C:244-249', { default: true }),
    network_mode: fn('C:733-739, default "bridge"; Read: HostConfig.NetworkMode (CF:796)', { default: 'bridge', readBack: true }),
    networks_advanced: fn('C:741-776 (Set of blocks, all nested ForceNew); not read', {
      set: true,
      nested: {
        name: fn('C:748-753'),
        aliases: fn('C:754-761 (Set)', { set: true }),
        ipv4_address: fn('C:762-767'),
        ipv6_address: fn('C:768-773'),
      },
    }),
    volumes: fn('C:415-455 (Set of blocks); not read', {
      set: true,
      nested: { volume_name: fn('C:422-446'), container_path: fn('C:422-446'), read_only: fn('C:447-452') },
    }),
    mounts: fn('C:309-414 (Set of blocks: its count is ForceNew, its fields are not); Read: HostConfig.Mounts (CF:759)', {
      set: true,
      readBack: true,
      nested: { target: inPlace('C:316-320'), source: inPlace('C:321-325'), type: inPlace('C:326-331'), read_only: inPlace('C:332-336', { default: false }) },
    }),
    healthcheck: inPlace('C:849-900 (List MaxItems 1, O+C, not ForceNew: a change is an in-place update Update ignores); Read: Config.Healthcheck with Go durations (CF:800-811)', {
      computed: true,
      readBack: true,
      nested: {
        test: inPlace('C:857-862 (List)'),
        interval: inPlace('C:863-869', { default: '0s' }),
        timeout: inPlace('C:870-876', { default: '0s' }),
        start_period: inPlace('C:877-883', { default: '0s' }),
        start_interval: inPlace('C:884-890', { default: '0s' }),
        retries: inPlace('C:891-897', { default: 0 }),
      },
    }),
    labels: fn('C:672-679 (Set of {label, value}, O+C); not read (CF:769-774)', { computed: true, set: true, nested: { label: fn('helpers.go:58-73'), value: fn('helpers.go:58-73') } }),
    upload: fn('C:791-847 (Set of blocks, all nested ForceNew; source is read at apply time, only its path is kept); not read (CF:799)', {
      set: true,
      nested: {
        file: fn('C:813-818'),
        content: fn('C:798-805'),
        source: fn('C:833-838'),
        source_hash: fn('C:839-844 (never used by the code: a replacement trigger only)'),
        permissions: fn('C:826-832'),
        executable: fn('C:819-825', { default: false }),
      },
    }),
  },
  docker_network: {
    // No Update function (N:17-19): every argument is ForceNew. Read copies the engine's view (N funcs:146-190).
    name: fn('N:25-30', { readBack: true }),
    driver: fn('N:48-54 (O+C)', { computed: true, readBack: true }),
    internal: fn('N:64-70 (O+C)', { computed: true, readBack: true }),
    attachable: fn('N:72-77', { default: false, readBack: true }),
    ipv6: fn('N:86-91 (not Computed)', { default: false, readBack: true }),
    ipam_driver: fn('N:93-99', { default: 'default', readBack: true }),
    ipam_config: fn('N:107-145 (Set of blocks, O+C); Read: exactly the non-empty fields the engine reports (structures.go:11-39)', {
      computed: true,
      set: true,
      readBack: true,
      nested: { subnet: fn('N:116-135'), gateway: fn('N:116-135'), ip_range: fn('N:116-135'), aux_address: fn('N:137-142') },
    }),
  },
  docker_volume: {
    name: fn('V:34-40 (O+C); the ID is the name', { computed: true, readBack: true }),
    driver: fn('V:48-54 (O+C)', { computed: true, readBack: true }),
  },
  docker_image: {
    name: fn('I:36-41'),
    keep_locally: inPlace('I:55-59', { default: false }),
    build: fn('I:76-421 (Set MaxItems 1; any change replaces: context is Required+ForceNew)', {
      set: true,
      nested: { context: fn('I:325-330'), dockerfile: fn('I:84-90', { default: 'Dockerfile' }), build_args: fn('I:266-275 (map)') },
    }),
    triggers: fn('I:422-427 (map)'),
  },
};

/** Meta-arguments Terraform itself handles. */
export const META = ['depends_on', '//', 'provider', 'lifecycle'];

/** Go's time.Duration.String(), which Read uses for healthcheck durations ("1m0s", "500ms", "1.5s"). */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  if (ns < 1e9) {
    if (ns < 1e3) return `${ns}ns`;
    if (ns < 1e6) return `${trim(ns / 1e3)}µs`;
    return `${trim(ns / 1e6)}ms`;
  }
  let s = ns / 1e9;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const sec = `${trim(Math.round(s * 1e9) / 1e9)}s`;
  if (h) return `${h}h${m}m${sec}`;
  if (m) return `${m}m${sec}`;
  return sec;
}

function trim(n: number): string {
  return String(Number(n.toFixed(9)));
}

/** Go's time.ParseDuration, as Create parses healthcheck durations (CF:134-159). */
export function parseGoDuration(d: string): number {
  const units: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 6e10, h: 3.6e12 };
  if (d === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(d))) {
    total += parseFloat(m[1]) * units[m[2]];
    pos = re.lastIndex;
  }
  if (pos !== d.length || d.length === 0) throw new Error(`time: invalid duration "${d}"`);
  return Math.round(total);
}
