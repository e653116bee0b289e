/**
 * What the official images the kit defaults to are, as their own build files say, so the test
 * stand-ins carry the same metadata and the end-to-end tests fail where a real deploy would
 * (a `command` that repeats the ENTRYPOINT, a script that needs a shell the image lacks, a file
 * owned by the wrong user). Read from each image's source repository (no image can be pulled
 * here); where a value was derived rather than read, `note` says so.
 */
export interface ImageMetadata {
  /** The official image this describes. */
  readonly of: string;
  readonly entrypoint: readonly string[] | null;
  readonly cmd: readonly string[];
  /** The config's User: '' (root), or what USER set. */
  readonly user: string;
  readonly workdir: string;
  readonly env: readonly string[];
  readonly volumes: readonly string[];
  /** `/bin/sh` and `/usr/bin/env`: GNU (Debian), BusyBox (Alpine), or none (distroless). */
  readonly shell: 'gnu' | 'busybox' | 'none';
  /**
   * Programs beyond the shell's small tools that the node image's healthcheck (`muster-health`)
   * looks for: `bash` (its /dev/tcp) in Debian-based images, BusyBox's `wget` in Alpine. A stand-in
   * has exactly these, so the healthcheck takes the same path as on the real image.
   */
  readonly tools: readonly ('bash' | 'wget')[];
  /** /etc/passwd lines of the users that matter. */
  readonly users: readonly string[];
  /** Where each value was read. */
  readonly source: string;
  readonly note?: string;
}

const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export const OFFICIAL: Record<'bind9' | 'etcd' | 'node' | 'nodeAlpine', ImageMetadata> = {
  bind9: {
    of: 'internetsystemsconsortium/bind9:9.18',
    entrypoint: ['/usr/sbin/named', '-u', 'bind'],
    cmd: ['-f', '-c', '/etc/bind/named.conf', '-L', '/var/log/bind/default.log'],
    user: '',
    workdir: '',
    env: [PATH, 'DEBIAN_FRONTEND=noninteractive', 'LC_ALL=C.UTF-8'],
    volumes: ['/etc/bind', '/var/cache/bind', '/var/lib/bind', '/var/log'],
    shell: 'busybox',
    tools: ['wget'],
    users: ['bind:x:100:101:Linux User,,,:/var/cache/bind:/sbin/nologin'],
    source:
      'isc-projects/bind9-docker, branch v9.18 at 4d2b6d9 (9.18.31), Dockerfile: FROM alpine:latest (L1), ENV (L4-5), addgroup/adduser bind (L75), ' +
      '/etc/bind root:bind 0755 and /var/cache/bind, /var/lib/bind, /var/log/bind, /run/named bind:bind (L78-92), VOLUME (L117), ENTRYPOINT (L121), CMD (L122). ' +
      'The ENTRYPOINT `named -u bind` since 54e724d (2024-08-27), the CMD since 76bf981 (same day)',
    note: "bind's uid/gid 100:101 is derived from BusyBox adduser/addgroup -S on Alpine's base passwd/group (first free ids from 100; gid 100 is 'users'), not read from a built image",
  },
  etcd: {
    of: 'gcr.io/etcd-development/etcd:v3.5.17',
    entrypoint: null,
    cmd: ['/usr/local/bin/etcd'],
    user: '0',
    workdir: '/var/lib/etcd',
    env: [PATH, 'SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt'],
    volumes: [],
    shell: 'none',
    tools: [],
    users: ['root:x:0:0:root:/root:/sbin/nologin', 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin', 'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin'],
    source:
      'etcd-io/etcd tag v3.5.17 (507c0de), Dockerfile-release.amd64: FROM gcr.io/distroless/static-debian11 (root variant) (L1), etcd, etcdctl, etcdutl in /usr/local/bin (L3-5), ' +
      'WORKDIR /var/etcd/ then /var/lib/etcd/ (L7-8), CMD (L13); no shell since 1293f5d (2022-12-23). User and ENV from distroless base/base.bzl (L11, L74-80, L96)',
  },
  node: {
    of: 'node:24-bookworm-slim',
    entrypoint: ['docker-entrypoint.sh'],
    cmd: ['node'],
    user: '',
    workdir: '',
    env: [PATH, 'NODE_VERSION=24.19.0', 'YARN_VERSION=1.22.22'],
    volumes: [],
    shell: 'gnu',
    tools: ['bash'],
    users: ['node:x:1000:1000::/home/node:/bin/bash'],
    source:
      'nodejs/docker-node 24/bookworm-slim/Dockerfile at f27d936 (2026-08-19): FROM debian:bookworm-slim (L1), groupadd/useradd node 1000:1000 (L3-4), NODE_VERSION (L6), ' +
      'node in /usr/local/bin (L36-42), YARN_VERSION (L61), ENTRYPOINT docker-entrypoint.sh (L99-100), CMD (L102); /bin/sh is dash and /usr/bin/env GNU coreutils (debian bookworm-slim rootfs.manifest); ' +
      'bash is there (Essential: yes in bookworm, in the same manifest; the node user\'s shell is /bin/bash), wget is not (not Priority: required)',
    note: 'the stand-in runs this machine\'s Node.js (20), not 24.19.0; NODE_VERSION says which it really is',
  },
  nodeAlpine: {
    of: 'node:24-alpine',
    entrypoint: ['docker-entrypoint.sh'],
    cmd: ['node'],
    user: '',
    workdir: '',
    env: [PATH, 'NODE_VERSION=24.19.0', 'YARN_VERSION=1.22.22'],
    volumes: [],
    shell: 'busybox',
    tools: ['wget'],
    users: ['node:x:1000:1000:Linux User,,,:/home/node:/bin/sh'],
    source:
      'nodejs/docker-node 24/alpine3.24/Dockerfile at f27d936: FROM alpine:3.24 (L1), addgroup/adduser node 1000:1000 (L5-6), ENTRYPOINT (L105-106), CMD (L108); ' +
      '/bin/sh and /usr/bin/env are BusyBox, whose env has no -S (busybox coreutils/env.c getopt "+i0u:*"); ' +
      'wget is BusyBox\'s applet (/usr/bin/wget, alpine aports main/busybox busyboxconfig CONFIG_WGET=y), and there is no bash (not in alpine-baselayout or the base packages)',
    note: 'the stand-in runs this machine\'s glibc Node.js (20) where the real image has a musl build of 24',
  },
};

/**
 * docker-entrypoint.sh of the node images, in behaviour (docker-node, unchanged since 2021-10-17):
 * `node` goes in front of the arguments when the first one is an option, is not a command on the
 * PATH, or is a file that is not executable; then the result is exec'd.
 */
export const NODE_ENTRYPOINT_SCRIPT = `#!/bin/sh
set -e
first="\${1:-}"
case "$first" in -*) set -- node "$@" ;; *)
  if [ -z "$(command -v "$first")" ] || { [ -f "$first" ] && ! [ -x "$first" ]; }; then set -- node "$@"; fi ;;
esac
exec "$@"
`;
