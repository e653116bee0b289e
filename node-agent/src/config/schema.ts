import { z } from 'zod';
import { DURATION_RULE, parseDuration } from './duration';
import { nodeNameProblem } from './node-name';

/**
 * The whole agent configuration: one schema, every key with its default.
 * Keys follow EMQX's `emqx.conf` (`node.*`, `cluster.*`); README.md lists them for users.
 */

export const PROTO_DISTS = ['inet_tcp', 'inet6_tcp'] as const;
export const DISCOVERY_STRATEGIES = ['manual'] as const;
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

const nodeName = z.string().superRefine((v, ctx) => {
  const problem = nodeNameProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** A duration string turned into milliseconds; `min` guards against values that would spin. */
function duration(min = 0) {
  return z.string().transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `'${v}' ${DURATION_RULE}` });
      return z.NEVER;
    }
    if (ms < min) {
      ctx.addIssue({ code: 'custom', message: `'${v}' is too short: at least ${min}ms` });
      return z.NEVER;
    }
    return ms;
  });
}

function oneOf<T extends readonly [string, ...string[]]>(values: T) {
  // Strategy and protocol names are matched case-insensitively (the seed page writes `K8s`).
  return z.preprocess((v) => (typeof v === 'string' ? v.toLowerCase() : v), z.enum(values));
}

export const failureDetectorSchema = z.strictObject({
  /** How often each node sends a heartbeat on every link. Lower detects sooner and costs more bytes. */
  heartbeat_interval: duration(50).default(500),
  /** Silence after which a peer is shown stopped. Must cover GC pauses and CPU starvation (1 s stalls). */
  timeout: duration(200).default(2000),
});

export const configSchema = z.strictObject({
  // A missing `node` block reports node.name and node.cookie as required, not `node`.
  node: z.preprocess((v) => v ?? {}, z.strictObject({
    /** `name@host`; the node listens on `host` at `cluster.port`. */
    name: nodeName,
    /** Shared secret of the cluster. Never sent over the wire; there is no default. */
    cookie: z.string().min(1, 'must not be empty'),
    /** Where membership and data persist. Default: ./data/<node name>. */
    data_dir: z.string().min(1).optional(),
  })),
  cluster: z
    .strictObject({
      name: z.string().regex(/^[A-Za-z0-9_.-]+$/, "must be letters, digits, '_', '-' or '.'").default('muster'),
      port: z.number().int('must be a whole number').min(1, 'must be 1-65535').max(65535, 'must be 1-65535').default(4370),
      proto_dist: oneOf(PROTO_DISTS).default('inet_tcp'),
      discovery_strategy: oneOf(DISCOVERY_STRATEGIES).default('manual'),
      failure_detector: failureDetectorSchema.prefault({}),
    })
    .prefault({}),
  log: z.strictObject({ level: oneOf(LOG_LEVELS).default('info') }).prefault({}),
});

type Parsed = z.output<typeof configSchema>;
export type Config = Parsed & { node: Parsed['node'] & { data_dir: string } };
