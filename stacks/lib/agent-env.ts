/**
 * The contract with the node agent: its documented config keys, passed as `MUSTER_*` variables
 * (path in upper case, `__` between levels, value in HOCON syntax). Nothing else of the agent is used.
 */
export type AgentSetting = string | number | boolean | readonly string[];

/** `cluster.static.seeds` -> `MUSTER_CLUSTER__STATIC__SEEDS`. */
export function envName(key: string): string {
  return `MUSTER_${key.split('.').map((s) => s.toUpperCase()).join('__')}`;
}

function hoconValue(v: AgentSetting): string {
  if (Array.isArray(v)) return `[${v.map((x) => JSON.stringify(x)).join(',')}]`;
  if (typeof v === 'string') {
    // Tokens (`${var.cookie}`) and plain words stay unquoted; anything HOCON could misread is quoted.
    return /^\$\{[^}]+\}$/.test(v) || /^[A-Za-z0-9_.@:/-]+$/.test(v) ? v : JSON.stringify(v);
  }
  return String(v);
}

/** `KEY=value` lines for a container's `env`, sorted so the plan is stable. */
export function agentEnv(settings: Record<string, AgentSetting | undefined>): string[] {
  return Object.entries(settings)
    .filter((e): e is [string, AgentSetting] => e[1] !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${envName(k)}=${hoconValue(v)}`);
}
