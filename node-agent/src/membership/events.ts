/**
 * What the membership tells the rest of the agent (autocluster listens): typed, and any number of
 * listeners, so no module writes into another's fields.
 */
export interface ClusterEventMap {
  /** This node joined a cluster (`cluster join`, or autocluster's own join). */
  joined: [];
  /** `cluster leave` ran; the leave answers once every listener has finished (discovery unregisters). */
  left: [];
  /** Another node's discovery asked this one which cluster it is in (a `join` link's welcome). */
  probed: [by: string];
}

type Listener<A extends unknown[]> = (...args: A) => void | Promise<void>;

export class ClusterEvents {
  // Typed at on() and emit(); stored untyped, keyed by event.
  private readonly listeners = new Map<keyof ClusterEventMap, Listener<never[]>[]>();

  on<K extends keyof ClusterEventMap>(event: K, listener: Listener<ClusterEventMap[K]>): void {
    const list = this.listeners.get(event) ?? [];
    list.push(listener as Listener<never[]>);
    this.listeners.set(event, list);
  }

  /** Calls every listener in order; resolves when the asynchronous ones have finished. */
  async emit<K extends keyof ClusterEventMap>(event: K, ...args: ClusterEventMap[K]): Promise<void> {
    for (const l of this.listeners.get(event) ?? []) await (l as Listener<ClusterEventMap[K]>)(...args);
  }
}
