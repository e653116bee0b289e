import { z } from 'zod/v3';

/**
 * What a cluster holds, as every part of the agent sees it: the member list, the data and the
 * liveness records, each entry stamped by the hybrid logical clock. The state file (store/) and
 * the wire (transport/) both carry these; the schemas check them wherever they come from.
 */

/** A hybrid logical clock timestamp (clock/hlc.ts): physical ms, logical counter, node name. */
export const timestampSchema = z.object({ p: z.number().int().nonnegative(), l: z.number().int().nonnegative(), n: z.string().max(300) });
export const nodeNameField = z.string().min(1).max(300);
const name = nodeNameField;
const timestamp = timestampSchema;

export const memberEntrySchema = z.object({
  key: name,
  state: z.enum(['member', 'removed']),
  ts: timestamp,
  /** Why a member was removed, shown to the removed node and in logs. */
  reason: z.enum(['leave', 'force-leave', 'autoclean']).optional(),
  by: z.string().max(300).optional(),
  /** A replicant (EMQX 5's Mria role); absent for a core, so state written before roles reads the same. */
  role: z.literal('replicant').optional(),
});
export type MemberEntry = z.infer<typeof memberEntrySchema>;

export const dataEntrySchema = z.object({
  key: z.string().min(1).max(1024),
  /** null marks a deleted key (a tombstone), so the delete wins over older writes. */
  value: z.string().max(1024 * 1024).nullable(),
  ts: timestamp,
});
export type DataEntry = z.infer<typeof dataEntrySchema>;

/**
 * Whether a member's process is up, as claimed by the member itself (up) or by a neighbour that lost
 * it (down). `inc` is the member's incarnation: only the member raises it, to answer a down claim it
 * outlives; the higher one wins, and at the same one a down claim wins (see membership/liveness.ts).
 */
export const aliveSchema = z.object({
  node: name,
  boot: z.string().max(64),
  inc: z.number().int().nonnegative(),
  up: z.boolean(),
  /** A down claim for a member that said goodbye (SIGTERM), not one that vanished. */
  orderly: z.boolean().optional(),
  by: z.string().max(300).optional(),
});
export type Alive = z.infer<typeof aliveSchema>;

export const clusterStateSchema = z.object({
  cluster_id: z.string().max(64),
  members: z.array(memberEntrySchema),
  data: z.array(dataEntrySchema),
  /** Who is up, on the wire only (a restarted node learns it afresh). */
  alive: z.array(aliveSchema).optional(),
});
export type ClusterState = z.infer<typeof clusterStateSchema>;

