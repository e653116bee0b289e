import { Fleet, staticSeedsEnv, waitForStatus, type Agent } from '../support/agents';
import { NetLab } from '../support/netlab';

/** N agents, each on its own test host (network namespace), formed into one cluster. */
export class LabCluster {
  readonly lab = new NetLab();
  readonly fleet = new Fleet();
  agents: Agent[] = [];
  names: string[] = [];

  async start(count: number, env: Record<string, string> = {}, strategy: 'static' | 'manual' = 'static'): Promise<void> {
    this.lab.setup(count);
    this.names = Array.from({ length: count }, (_, i) => `muster@${this.lab.address(i)}`);
    const discovery: Record<string, string> = strategy === 'static' ? staticSeedsEnv(this.names) : {};
    this.agents = this.names.map((n, i) => this.fleet.agent(n, { ...discovery, ...env }, this.lab.netns(i)));
    await Promise.all(this.agents.map((a) => a.start()));
    if (strategy === 'manual') {
      for (const a of this.agents.slice(1)) {
        const r = await a.ctl(['cluster', 'join', this.names[0]]);
        if (r.code !== 0) throw new Error(`join failed: ${r.stderr}`);
      }
    }
    await waitForStatus(this.agents, this.names, [], 30_000);
  }

  pick(idx: number[]): Agent[] {
    return idx.map((i) => this.agents[i]);
  }

  namesOf(idx: number[]): string[] {
    return idx.map((i) => this.names[i]);
  }

  async put(i: number, key: string, value: string): Promise<void> {
    const r = await this.agents[i].ctl(['data', 'put', key, value]);
    if (r.code !== 0) throw new Error(`put on ${this.names[i]} failed: ${r.stderr}`);
  }

  async list(i: number): Promise<Record<string, string>> {
    const r = await this.agents[i].ctl(['data', 'list', '--json']);
    if (r.code !== 0) throw new Error(`list on ${this.names[i]} failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, string>;
  }

  async close(): Promise<void> {
    await this.fleet.close();
    this.lab.close();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
