import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * No image can be pulled here, so the end-to-end tests build local stand-ins of the official
 * images from what Debian installs on this machine (`docker import` of a small root filesystem):
 * Node.js, BIND 9's named and etcd, at the paths and with the users the official images have, so
 * the kit's commands and uploaded config work unchanged.
 */
export const STANDIN = {
  node: 'muster-test/node:20',
  dns: 'muster-test/bind9:9.18',
  etcd: 'muster-test/etcd:3',
};

function sh(cmd: string, args: string[], input?: Buffer): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, maxBuffer: 64 * 1024 * 1024 });
}

function exists(image: string): boolean {
  try {
    execFileSync('docker', ['image', 'inspect', image], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
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
  const ldd = sh('ldd', [from]);
  for (const m of ldd.matchAll(/(?:=>\s*)?(\/[^\s]+)\s+\(0x/g)) put(m[1], m[1]);
}

function addBusybox(root: string): void {
  mkdirSync(path.join(root, 'bin'), { recursive: true });
  copyFileSync('/usr/bin/busybox', path.join(root, 'bin/busybox'));
  chmodSync(path.join(root, 'bin/busybox'), 0o755);
  for (const tool of ['sh', 'mkdir', 'chown', 'chmod', 'ls', 'cat', 'rm', 'sleep', 'ps', 'id']) symlinkSync('busybox', path.join(root, 'bin', tool));
}

function base(root: string, users: string[]): void {
  for (const d of ['tmp', 'etc', 'dev', 'proc', 'sys', 'run', 'var/tmp']) mkdirSync(path.join(root, d), { recursive: true });
  chmodSync(path.join(root, 'tmp'), 0o1777);
  writeFileSync(path.join(root, 'etc/passwd'), ['root:x:0:0:root:/root:/bin/sh', ...users].join('\n') + '\n');
  writeFileSync(path.join(root, 'etc/group'), ['root:x:0:', ...users.map((u) => { const [n, , uid, gid] = u.split(':'); return `${n}:x:${gid ?? uid}:`; })].join('\n') + '\n');
}

function importRoot(root: string, image: string, changes: string[]): void {
  const tar = execFileSync('tar', ['-C', root, '-c', '.'], { maxBuffer: 1024 * 1024 * 1024 });
  sh('docker', ['import', ...changes.flatMap((c) => ['--change', c]), '-', image], tar);
}

function build(image: string, fill: (root: string) => string[]): void {
  if (exists(image)) return;
  const root = mkdtempSync(path.join(tmpdir(), 'muster-rootfs-'));
  chmodSync(root, 0o755); // becomes the image's "/": non-root users must traverse it
  try {
    importRoot(root, image, fill(root));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export function ensureStandInImages(): void {
  build(STANDIN.node, (root) => {
    base(root, ['node:x:1000:1000:node:/home/node:/bin/sh']);
    addBusybox(root);
    addBinary(root, process.execPath, '/usr/local/bin/node');
    // As in the official image (coreutils): the agent's bundle runs itself through `env -S node <flags>`.
    addBinary(root, '/usr/bin/env');
    return ['ENV PATH=/usr/local/bin:/usr/bin:/bin', 'CMD ["node"]'];
  });
  build(STANDIN.dns, (root) => {
    base(root, ['bind:x:101:101:bind:/var/cache/bind:/bin/false']);
    addBusybox(root);
    addBinary(root, '/usr/sbin/named');
    for (const d of ['etc/bind', 'var/cache/bind', 'var/lib/bind', 'run/named']) mkdirSync(path.join(root, d), { recursive: true });
    copyFileSync('/etc/bind/bind.keys', path.join(root, 'etc/bind/bind.keys'));
    for (const d of ['var/cache/bind', 'var/lib/bind', 'run/named']) sh('chown', ['-R', '101:101', path.join(root, d)]);
    // Owned by bind (uid 101) inside the image, as in ISC's image.
    return ['ENV PATH=/usr/sbin:/usr/bin:/bin', 'CMD ["/usr/sbin/named", "-g", "-c", "/etc/bind/named.conf", "-u", "bind"]'];
  });
  build(STANDIN.etcd, (root) => {
    base(root, []);
    addBusybox(root);
    addBinary(root, '/usr/bin/etcd', '/usr/local/bin/etcd');
    return ['ENV PATH=/usr/local/bin:/bin', 'CMD ["/usr/local/bin/etcd"]'];
  });
}
