import { envName, type AgentSettings, type SettingValue } from '../../node-agent/src/contract';

/**
 * The agent's settings as a container's `MUSTER_*` variables: the path in upper case with `__`
 * between levels (the agent's own naming, from the contract), the value in HOCON syntax.
 */
export type { AgentSettings, SettingKey, SettingValue } from '../../node-agent/src/contract';

function hoconValue(v: SettingValue): string {
  if (Array.isArray(v)) return `[${v.map((x) => JSON.stringify(x)).join(',')}]`;
  if (typeof v === 'string') {
    // Tokens (`${var.cookie}`) and plain words stay unquoted; anything HOCON could misread is quoted.
    return /^\$\{[^}]+\}$/.test(v) || /^[A-Za-z0-9_.@:/-]+$/.test(v) ? v : JSON.stringify(v);
  }
  return String(v);
}

/** `KEY=value` lines for a container's `env`, sorted so the plan is stable. */
export function agentEnv(settings: AgentSettings): string[] {
  return (Object.entries(settings) as [keyof AgentSettings, SettingValue | undefined][])
    .filter((e): e is [keyof AgentSettings, SettingValue] => e[1] !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${envName(k)}=${hoconValue(v)}`);
}
