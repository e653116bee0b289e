/**
 * The contract between the node agent and the kit: the one module the kit imports from the agent.
 * Everything both halves need is written once here or in the agent modules it re-exports: the
 * config keys (typed from the agent's own schema), the node-name and duration rules, how a key
 * becomes a `MUSTER_*` variable, the defaults the image and the kit share, and the agent's own
 * config loader, which the kit runs at synth time on every node's settings.
 */
import type { z } from 'zod/v3';
import { ConfigError, loadConfig, pathToEnvVar } from './config/load';
import type { configSchema } from './config/schema';

export { NODE_NAME_RULE, nodeNameProblem, parseNodeName, isFqdn } from './config/node-name';
export { DURATION_RULE, parseDuration } from './config/duration';
export { ENV_PREFIX, pathToEnvVar } from './config/load';
export { PROTO_DISTS, DISCOVERY_STRATEGIES, DNS_RECORD_TYPES, NODE_ROLES, type NodeRole } from './config/schema';
export { DEFAULT_CLUSTER_PORT, DEFAULT_HTTP_PORT, IMAGE_DATA_DIR, IMAGE_GID, IMAGE_HEALTHCHECK, IMAGE_UID } from './config/defaults';

type Parsed = z.output<ReturnType<typeof configSchema>>;
type Leaf = string | number | boolean | readonly unknown[];
/** Every key of the agent's config as a dotted path (`cluster.etcd.node_ttl`), from the schema. */
type KeysOf<T, P extends string = ''> = T extends Leaf
  ? never
  : { [K in keyof T & string]-?: NonNullable<T[K]> extends Leaf ? `${P}${K}` : KeysOf<NonNullable<T[K]>, `${P}${K}.`> }[keyof T & string];

export type SettingKey = KeysOf<Parsed>;
/** A value as the kit writes it: HOCON-ish text (durations as `30s`), a number, a flag or a list. */
export type SettingValue = string | number | boolean | readonly string[];
/** Agent settings keyed by config path: a misspelled key fails `tsc`. */
export type AgentSettings = { readonly [K in SettingKey]?: SettingValue };

/** `cluster.static.seeds` -> `MUSTER_CLUSTER__STATIC__SEEDS`. */
export function envName(key: SettingKey): string {
  return pathToEnvVar(key.split('.'));
}

/**
 * What the agent would say about a node's `MUSTER_*` environment at boot: the problems, one line
 * each naming the key and the variable, or none. The agent's own loader, so the kit refuses exactly
 * what the agent would refuse (exit 2 and a container restarting for ever).
 */
export function agentEnvProblems(env: Readonly<Record<string, string>>): string[] {
  try {
    loadConfig({ env: { ...env }, readCookieFile: false });
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}
