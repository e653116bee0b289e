import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NODE_ENTRYPOINT_SCRIPT, OFFICIAL, type ImageMetadata } from './official-images';

/**
 * No image can be pulled here, so the end-to-end tests build local stand-ins of the official
 * images from what Debian installs on this machine (`docker import` of a small root filesystem),
 * each with its official image's metadata (official-images.ts): the same ENTRYPOINT, CMD, USER,
 * ENV, WORKDIR and VOLUMEs, the same users, and the same kind of shell (GNU on Debian, BusyBox on
 * Alpine, none in distroless), so the kit's commands and files meet what they would meet for real.
 */
export const STANDIN = {
  node: 'muster-test/node:24-bookworm-slim',
  nodeAlpine: 'muster-test/node:24-alpine',
  dns: 'muster-test/bind9:9.18',
  etcd: 'muster-test/etcd:v3.5.17',
};

/** Bump when a stand-in's content changes, so an engine that has an older one builds it again. */
const STANDIN_VERSION = '4';

function sh(cmd: string, args: string[], input?: Buffer): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, maxBuffer: 64 * 1024 * 1024 });
}

function label(image: string): string | undefined {
  try {
    return execFileSync('docker', ['image', 'inspect', '--format', '{{index .Config.Labels "muster.standin-version"}}', image], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** A binary and every shared library it loads, at their own paths under `root`. */
function addBinary(root: string, from: string, to = from): void {
  const put = (src: string, dst: string) => {
    mkdirSync(path.dirname(path.join(root, dst)), { recursive: true });
    copyFileSync(realpathSync(src), path.join(root, dst));
    chmodSync(path.join(root, dst), 0o755);
  };
  put(from, to);
  let ldd = '';
  try {
    ldd = sh('ldd', [from]);
  } catch {
    return; // statically linked
  }
  for (const m of ldd.matchAll(/(?:=>\s*)?(\/[^\s]+)\s+\(0x/g)) put(m[1], m[1]);
}

/** Alpine-like: /bin/sh, /usr/bin/env and the small tools are BusyBox (its env has no -S). */
function addBusybox(root: string): void {
  mkdirSync(path.join(root, 'bin'), { recursive: true });
  mkdirSync(path.join(root, 'usr/bin'), { recursive: true });
  copyFileSync('/usr/bin/busybox', path.join(root, 'bin/busybox'));
  chmodSync(path.join(root, 'bin/busybox'), 0o755);
  for (const tool of ['sh', 'mkdir', 'chown', 'chmod', 'ln', 'ls', 'cat', 'rm', 'sleep', 'ps', 'id', 'echo', 'test', '[']) symlinkSync('busybox', path.join(root, 'bin', tool));
  symlinkSync('/bin/busybox', path.join(root, 'usr/bin/env'));
}

/** Debian-like: dash as /bin/sh and GNU coreutils (env has -S), from this machine. */
function addDebianUserland(root: string): void {
  addBinary(root, '/bin/dash', '/bin/sh');
  for (const tool of ['mkdir', 'chown', 'chmod', 'ln', 'ls', 'cat', 'rm', 'sleep', 'id', 'echo', 'test']) addBinary(root, `/usr/bin/${tool}`, `/bin/${tool}`);
  addBinary(root, '/usr/bin/env', '/usr/bin/env');
}

/** The official image's `tools` (bash from this machine; wget as BusyBox's applet, where Alpine has it). */
function addTools(root: string, m: ImageMetadata): void {
  for (const tool of m.tools) {
    if (tool === 'bash') addBinary(root, '/bin/bash', '/bin/bash');
    if (tool === 'wget') {
      if (m.shell !== 'busybox') throw new Error(`${m.of}: wget is modelled as BusyBox's applet only`);
      mkdirSync(path.join(root, 'usr/bin'), { recursive: true });
      symlinkSync('/bin/busybox', path.join(root, 'usr/bin/wget'));
    }
  }
}

function base(root: string, users: readonly string[]): void {
  for (const d of ['tmp', 'etc', 'dev', 'proc', 'sys', 'run', 'var/tmp']) mkdirSync(path.join(root, d), { recursive: true });
  chmodSync(path.join(root, 'tmp'), 0o1777);
  const all = users.some((u) => u.startsWith('root:')) ? [...users] : ['root:x:0:0:root:/root:/bin/sh', ...users];
  writeFileSync(path.join(root, 'etc/passwd'), `${all.join('\n')}\n`);
  const groups = new Map<string, string>([['0', 'root']]);
  for (const u of all) {
    const [name, , , gid] = u.split(':');
    if (!groups.has(gid)) groups.set(gid, name);
  }
  writeFileSync(path.join(root, 'etc/group'), `${[...groups].map(([gid, name]) => `${name}:x:${gid}:`).join('\n')}\n`);
}

/** `docker import` changes that give the image its official image's metadata. */
function changesFor(m: ImageMetadata, env: readonly string[]): string[] {
  const out = [...env.map((e) => `ENV ${e}`), `CMD ${JSON.stringify(m.cmd)}`, `LABEL muster.standin-of=${m.of} muster.standin-version=${STANDIN_VERSION}`];
  if (m.entrypoint) out.push(`ENTRYPOINT ${JSON.stringify(m.entrypoint)}`);
  if (m.user) out.push(`USER ${m.user}`);
  if (m.workdir) out.push(`WORKDIR ${m.workdir}`);
  if (m.volumes.length) out.push(`VOLUME ${JSON.stringify(m.volumes)}`);
  return out;
}

function build(image: string, m: ImageMetadata, fill: (root: string) => void, env: readonly string[] = m.env): void {
  if (label(image) === STANDIN_VERSION) return;
  const root = mkdtempSync(path.join(tmpdir(), 'muster-rootfs-'));
  chmodSync(root, 0o755); // becomes the image's "/": non-root users must traverse it
  try {
    base(root, m.users);
    if (m.shell === 'busybox') addBusybox(root);
    if (m.shell === 'gnu') addDebianUserland(root);
    addTools(root, m);
    fill(root);
    const tar = execFileSync('tar', ['-C', root, '--numeric-owner', '-c', '.'], { maxBuffer: 1024 * 1024 * 1024 });
    sh('docker', ['import', ...changesFor(m, env).flatMap((c) => ['--change', c]), '-', image], tar);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function addNode(root: string): void {
  addBinary(root, process.execPath, '/usr/local/bin/node');
  writeFileSync(path.join(root, 'usr/local/bin/docker-entrypoint.sh'), NODE_ENTRYPOINT_SCRIPT);
  chmodSync(path.join(root, 'usr/local/bin/docker-entrypoint.sh'), 0o755);
  mkdirSync(path.join(root, 'home/node'), { recursive: true });
  sh('chown', ['1000:1000', path.join(root, 'home/node')]);
}

/** The node stand-ins run this machine's Node.js: NODE_VERSION says which. */
const nodeEnv = (m: ImageMetadata) => m.env.map((e) => (e.startsWith('NODE_VERSION=') ? `NODE_VERSION=${process.version.slice(1)}` : e));

export function ensureStandInImages(): void {
  build(STANDIN.node, OFFICIAL.node, addNode, nodeEnv(OFFICIAL.node));
  build(STANDIN.nodeAlpine, OFFICIAL.nodeAlpine, addNode, nodeEnv(OFFICIAL.nodeAlpine));
  build(STANDIN.dns, OFFICIAL.bind9, (root) => {
    addBinary(root, '/usr/sbin/named');
    for (const d of ['etc/bind', 'var/cache/bind', 'var/lib/bind', 'var/log/bind', 'run/named']) mkdirSync(path.join(root, d), { recursive: true });
    if (existsSync('/etc/bind/bind.keys')) copyFileSync('/etc/bind/bind.keys', path.join(root, 'etc/bind/bind.keys'));
    // The image's own named.conf (isc-projects/bind9-docker named.conf, its options block).
    writeFileSync(path.join(root, 'etc/bind/named.conf'), 'options {\n  directory "/var/cache/bind";\n  listen-on { any; };\n  listen-on-v6 { any; };\n};\n');
    // Owners as the Dockerfile sets them: /etc/bind root:bind, the others bind:bind (uid 100, gid 101).
    sh('chown', ['-R', '0:101', path.join(root, 'etc/bind')]);
    for (const d of ['var/cache/bind', 'var/lib/bind', 'var/log/bind', 'run/named']) sh('chown', ['-R', '100:101', path.join(root, d)]);
  });
  build(STANDIN.etcd, OFFICIAL.etcd, (root) => {
    addBinary(root, '/usr/bin/etcd', '/usr/local/bin/etcd');
    for (const d of ['var/etcd', 'var/lib/etcd', 'home/nonroot']) mkdirSync(path.join(root, d), { recursive: true });
    // distroless: no shell at all, so the image's passwd names /sbin/nologin that does not exist either.
    rmSync(path.join(root, 'bin'), { recursive: true, force: true });
  });
}
