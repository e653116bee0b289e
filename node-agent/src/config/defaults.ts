/**
 * Values the agent and the node image share with the kit (through `node-agent/src/contract.ts`).
 * `node-agent/Dockerfile` repeats the data dir, the user and the healthcheck (a Dockerfile cannot
 * import); test/kit/contract.test.ts checks that it says the same.
 */

/** `cluster.port`: every node listens on the host of its name at this port (EMQX's ekka uses 4370 too). */
export const DEFAULT_CLUSTER_PORT = 4370;

/** `http.port`: the read-only HTTP listener (`/status`, `/metrics`); EMQX's dashboard listener uses 18083. */
export const DEFAULT_HTTP_PORT = 18083;

/** Where the node image keeps a node's membership and data (`MUSTER_NODE__DATA_DIR` in the image). */
export const IMAGE_DATA_DIR = '/var/lib/muster';

/** The node image's user and group (`node` in the official Node.js images). */
export const IMAGE_UID = 1000;
export const IMAGE_GID = 1000;

/**
 * The node image's healthcheck: readiness (a synced member of a cluster of at least
 * `cluster.ready_min_nodes`), not mere liveness. `muster-health` (node-agent/docker/) asks the
 * agent's HTTP listener without starting Node.js, or runs `muster ctl cluster ready` where it cannot. Durations in Go's canonical form, as Docker and
 * the Terraform provider read them back (a "1m" would plan a change on every run).
 */
export const IMAGE_HEALTHCHECK = {
  test: ['CMD', 'muster-health'],
  interval: '5s',
  timeout: '3s',
  startPeriod: '10s',
  retries: 3,
} as const;
