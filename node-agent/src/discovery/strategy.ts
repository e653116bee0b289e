/** A node found by discovery; `port` where the source says it (SRV records, etcd), else cluster.port. */
export interface DiscoveredNode {
  readonly name: string;
  readonly port?: number;
}

/** Why a discovery attempt found nothing; its message names the cause (NXDOMAIN for which name, ...). */
export class DiscoveryError extends Error {}

/** One way of finding peers: `discovery/<strategy>.ts` implements it. */
export interface Discovery {
  /** The nodes the source lists now (this node too, where it lists it). Throws DiscoveryError. */
  discover(): Promise<DiscoveredNode[]>;
  /** Publishes this node, for strategies where nodes register themselves (etcd). Throws DiscoveryError. */
  register?(): Promise<void>;
  /** Withdraws this node (on leave and on stop). */
  unregister?(): Promise<void>;
  close?(): Promise<void>;
  /** Calls `onChange` when the source changes (etcd watch), so discovery need not wait for its next round. */
  watch?(onChange: () => void): void;
}
