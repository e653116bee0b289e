import type { DiscoveredNode, Discovery } from './strategy';

/** `cluster.static.seeds`: the same list on every node. */
export class StaticDiscovery implements Discovery {
  constructor(private readonly seeds: readonly string[]) {}

  async discover(): Promise<DiscoveredNode[]> {
    return this.seeds.map((name) => ({ name }));
  }
}
