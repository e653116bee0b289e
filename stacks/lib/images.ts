/**
 * The kit's default images, written once (the node image's user is the contract's IMAGE_UID/GID). Each default is a public
 * official image; every one is overridable (construct props, the stacks' `*_image` variables) for
 * air-gapped hosts and mirrors.
 */
export const DEFAULT_IMAGES = {
  /**
   * Base of the node image: a supported Node.js LTS (Node.js 20 reached end of life on
   * 2026-04-30; 24 is in LTS until 2028-04-30). The agent itself still runs on Node.js 20.9+.
   * `node-agent/Dockerfile`'s `BASE_IMAGE` default must say the same (a kit test checks it).
   */
  nodeBase: 'node:24-bookworm-slim',
  /** ISC's BIND 9 image; its ENTRYPOINT is `named -u bind`, so the kit passes only named's arguments. */
  dns: 'internetsystemsconsortium/bind9:9.18',
  /** etcd's release image (distroless: no shell), the binary at /usr/local/bin/etcd. */
  etcd: 'gcr.io/etcd-development/etcd:v3.5.17',
} as const;

