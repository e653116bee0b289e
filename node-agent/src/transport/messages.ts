import { z } from 'zod/v3';
import { aliveSchema, clusterStateSchema as clusterState, dataEntrySchema, memberEntrySchema, nodeNameField as name, timestampSchema as timestamp } from '../domain/state';
import type { Alive, MemberEntry } from '../domain/state';
import { BUCKETS } from '../store/lww-map';

/**
 * Every message on the wire, validated on receipt: a peer that sends anything else is
 * disconnected, never trusted. docs/architecture.md describes the flow.
 */

const nonce = z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'nonce must be 32 bytes of base64');
const proof = z.string().regex(/^[0-9a-f]{64}$/, 'proof must be an HMAC-SHA256 hex digest');

export const ROLES = ['node', 'join', 'ctl'] as const;
export type Role = (typeof ROLES)[number];

// Handshake (before the cookie is proved).
/** `cluster`: the sender's cluster.name, agreed on before a link, a join or a sync (absent from a ctl). */
export const helloSchema = z.object({ t: z.literal('hello'), role: z.enum(ROLES), name, nonce, boot: z.string().max(64), cluster: z.string().max(300).optional() });
export const challengeSchema = z.object({ t: z.literal('challenge'), name, nonce, boot: z.string().max(64), cluster: z.string().max(300).optional() });
export const authSchema = z.object({ t: z.literal('auth'), proof });
/** `info`: on a `join` link, the answer to `info` (checked by who asked): a probe needs no request of its own. */
export const welcomeSchema = z.object({ t: z.literal('welcome'), proof, info: z.unknown().optional() });
export const REJECT_CODES = ['bad_cookie', 'wrong_node', 'wrong_cluster', 'protocol', 'duplicate', 'not_member', 'partitioned', 'full'] as const;
export const rejectSchema = z.object({ t: z.literal('reject'), code: z.enum(REJECT_CODES), reason: z.string().max(1000) });
export type RejectCode = (typeof REJECT_CODES)[number];

// After the handshake.
/**
 * `bye` ends a link in order. Without a code the sender is stopping; `dismissed`: the sender is
 * fine and only drops this link (a duplicate, one replaced by a newer link, one it no longer
 * needs), so its loss says nothing about the sender.
 */
export const byeSchema = z.object({ t: z.literal('bye'), reason: z.string().max(200), code: z.literal('dismissed').optional() });
export const requestSchema = z.object({ t: z.literal('req'), id: z.number().int().nonnegative(), op: z.string().max(64), body: z.unknown().optional() });
export const responseSchema = z.object({
  t: z.literal('res'),
  id: z.number().int().nonnegative(),
  ok: z.boolean(),
  body: z.unknown().optional(),
  error: z.string().max(2000).optional(),
  code: z.string().max(64).optional(),
});

/** A request that wants no answer: gossip of news nobody waits for (`oneway`: liveness, joins). */
export const castSchema = z.object({ t: z.literal('cast'), op: z.string().max(64), body: z.unknown().optional() });

export const sessionMessageSchema = z.discriminatedUnion('t', [byeSchema, requestSchema, castSchema, responseSchema, rejectSchema]);
export type SessionMessage = z.infer<typeof sessionMessageSchema>;

/** Answers that carry state are validated like requests: a member's word is checked, not trusted. */
export const joinReplySchema = clusterState;
/**
 * `cores`: the running core members (absent from an agent before roles: all its members are cores);
 * `role`: the answering node's own. A cluster with no running core is no cluster to join.
 */
export const infoReplySchema = z.object({ cluster_id: z.string().max(64), members: z.array(name), running: z.array(name), cores: z.array(name).optional(), role: z.enum(['core', 'replicant']).optional() });
/** A node's answer to `info`: its cluster id, members and running members. */
export type InfoReply = z.infer<typeof infoReplySchema>;

/**
 * A state exchange on a member link, request and answer alike: the sender's digest always, its
 * entries only when the other side needs them; `want` asks for the other side's entries. This
 * schema checks the header and that the entries come as lists; `checkSyncEntries` checks the
 * entries themselves.
 */
export const syncSchema = z.object({
  cluster_id: z.string().max(64),
  digest: z.string().max(128),
  members: z.array(z.unknown()).optional(),
  data: z.array(z.unknown()).optional(),
  alive: z.array(z.unknown()).optional(),
  want: z.boolean().optional(),
  /** A replicant's data, as a digest per bucket of keys (LwwMap.bucketDigests): a core sends it only the buckets that differ. */
  buckets: z.array(z.string().max(16)).max(BUCKETS).optional(),
  /** `data` holds only these buckets, each whole (a core's answer to `buckets`). */
  partial: z.array(z.number().int().min(0).max(BUCKETS - 1)).max(BUCKETS).optional(),
});
export type SyncWire = z.infer<typeof syncSchema>;
const syncEntriesSchema = z.object({
  members: z.array(memberEntrySchema).optional(),
  data: z.array(dataEntrySchema).optional(),
  alive: z.array(aliveSchema).optional(),
});
/** A sync with its entries checked. */
export type SyncBody = Omit<SyncWire, 'members' | 'data' | 'alive'> & z.infer<typeof syncEntriesSchema>;

/** Which entries of a sync equal entries the receiver holds: see `checkSyncEntries`. */
export interface KnownEntries {
  member(entry: Record<string, unknown>): boolean;
  alive(record: Record<string, unknown>): boolean;
}

const sameTs = (t: MemberEntry['ts'], x: unknown) =>
  typeof x === 'object' && x !== null && (x as Record<string, unknown>).p === t.p && (x as Record<string, unknown>).l === t.l && (x as Record<string, unknown>).n === t.n;

/** Whether a member entry as it arrived is, field for field, `held` (an entry that passed its check). */
export function sameMemberEntry(held: MemberEntry, e: Record<string, unknown>): boolean {
  return e.key === held.key && e.state === held.state && e.reason === held.reason && e.by === held.by && e.role === held.role && sameTs(held.ts, e.ts);
}

/** Whether a liveness record as it arrived is, field for field, `held`. */
export function sameAlive(held: Alive, e: Record<string, unknown>): boolean {
  return e.node === held.node && e.boot === held.boot && e.inc === held.inc && e.up === held.up && e.orderly === held.orderly && e.by === held.by;
}

/**
 * Checks a sync's entries, leaving out the member entries and liveness records that `known` says
 * the receiver holds already, unchecked: equal to entries that passed their check, they would
 * change nothing. While a cluster forms, every new link syncs the whole state both ways, almost all
 * of it known to the receiver: at N = 100, 200 entries whose zod check took about 3.5 ms each way
 * in lite mode, the largest part of an agent's CPU while 100 nodes formed. Data entries are all
 * checked (that a peer sent a tombstone matters). Undefined when an entry is malformed.
 */
export function checkSyncEntries(wire: SyncWire, known?: KnownEntries): SyncBody | undefined {
  const unknown = (list: unknown[] | undefined, isKnown: ((e: Record<string, unknown>) => boolean) | undefined) =>
    list && isKnown ? list.filter((e) => !(typeof e === 'object' && e !== null && isKnown(e as Record<string, unknown>))) : list;
  const entries = syncEntriesSchema.safeParse({ members: unknown(wire.members, known?.member), data: wire.data, alive: unknown(wire.alive, known?.alive) });
  if (!entries.success) return undefined;
  return { cluster_id: wire.cluster_id, digest: wire.digest, want: wire.want, buckets: wire.buckets, partial: wire.partial, ...entries.data };
}

/**
 * A change spread over the member links (membership/flood.ts): each member applies it, passes it
 * to its other links once (by `id`), and answers with every member reached through it. News
 * nobody waits for (`oneway`: liveness, joins) goes as a `cast`, with no answer.
 *
 * A member receives each change on several links. On receipt only the header is checked; the
 * change itself is checked once, at the first sight of its id (membership/cluster.ts, relay).
 */
const gossipHeader = z.object({
  cluster_id: z.string().max(64),
  id: z.string().max(64),
  /** How long the sender waits for this answer; the next hop waits less. */
  budget_ms: z.number().int().positive().max(60_000),
  /** News nobody waits for, sent as a `cast` and passed on as one, and only while it is news. */
  oneway: z.literal(true).optional(),
});
export const gossipChangeSchema = z.object({
  members: z.array(memberEntrySchema).optional(),
  data: z.array(dataEntrySchema).optional(),
  alive: z.array(aliveSchema).optional(),
});
export const gossipSchema = gossipHeader.passthrough();
type GossipHeader = z.infer<typeof gossipHeader>;
export type GossipBody = GossipHeader & z.infer<typeof gossipChangeSchema>;
export const gossipReplySchema = z.object({ acked: z.array(name) });
/** A core's answer to a replicant's `write`: who acknowledged it, who did not in time, and the entry as stored. */
export const writeReplySchema = z.object({ acked: z.array(name), failed: z.array(name), entry: dataEntrySchema });

/** Request bodies by operation; a request whose body does not match is answered with an error. */
export const opSchemas = {
  // node <-> node
  sync: syncSchema,
  gossip: gossipSchema,
  // joiner -> cluster member. With `data` (autocluster) the joiner keeps its data, merged into the
  // cluster's; without it (`muster ctl cluster join`) the joiner drops its data, as EMQX does.
  // `alive` is the joiner's own liveness record, passed on to the members with its admission.
  // `role`: a replicant asks to be admitted as one (it brings no data: its copy comes from the cores).
  // `if_ranks_before`: a join offered with a discovery probe, sent right after the handshake's auth
  // (membership/join-offer.ts): the joiner's core members. The member takes it only if its own
  // cluster ranks before theirs, and declines it otherwise (`declined`); the welcome's info is then
  // the probe's answer.
  join: z.object({
    cluster_id: z.string().max(64),
    data: z.array(dataEntrySchema).optional(),
    ts: timestamp.optional(),
    alive: aliveSchema.optional(),
    role: z.literal('replicant').optional(),
    if_ranks_before: z.array(name).min(1).optional(),
  }),
  // discovery probe: which cluster is this node in?
  info: z.object({}),
  // replicant -> core: a write handed to the core (null value: a delete); answered as the core's own write
  write: z.object({ key: z.string().min(1).max(1024), value: z.string().max(1024 * 1024).nullable() }),
  // failure detection: a probe, and a member asking everyone to check a suspect
  suspect: z.object({ node: name }),
  // muster ctl -> local node
  ping: z.object({}),
  status: z.object({}),
  ready: z.object({}),
  'cluster-join': z.object({ node: name }),
  'cluster-leave': z.object({}),
  'cluster-force-leave': z.object({ node: name }),
  'data-put': z.object({ key: z.string().min(1).max(1024), value: z.string().max(1024 * 1024) }),
  'data-get': z.object({ key: z.string().min(1).max(1024) }),
  'data-del': z.object({ key: z.string().min(1).max(1024) }),
  'data-list': z.object({}),
} as const;
export type Op = keyof typeof opSchemas;
export type OpBody<O extends Op> = z.infer<(typeof opSchemas)[O]>;

/** Operations that may be sent as a `cast` (no answer), and by which role. */
export const CAST_OPS: Record<Role, readonly Op[]> = { node: ['gossip'], join: [], ctl: [] };

/** Which roles may call which operations. */
export const OPS_BY_ROLE: Record<Role, readonly Op[]> = {
  node: ['sync', 'gossip', 'ping', 'suspect', 'write'],
  join: ['join', 'info'],
  ctl: ['ping', 'status', 'ready', 'cluster-join', 'cluster-leave', 'cluster-force-leave', 'data-put', 'data-get', 'data-del', 'data-list'],
};
