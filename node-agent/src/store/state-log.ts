import { z } from 'zod/v3';
import { dataEntrySchema, memberEntrySchema, nodeNameField, type DataEntry, type MemberEntry } from '../domain/state';
import type { PersistedState } from './state-file';

/**
 * One save's changes, a line of the state log: the entries that changed since the last save (and
 * the keys dropped: collected tombstones), with the cluster id and freshness as they are now. The
 * log beside the snapshot makes a save cost what changed, not the whole state (10,000 keys of 1 KB
 * rewrote an 11 MB file for every put).
 */
export const stateChangeSchema = z.object({
  cluster_id: z.string().max(64),
  fresh: z.boolean().optional(),
  members: z.array(memberEntrySchema).optional(),
  data: z.array(dataEntrySchema).optional(),
  dropped_members: z.array(nodeNameField).optional(),
  dropped_data: z.array(z.string().min(1).max(1024)).optional(),
});
export type StateChange = z.infer<typeof stateChangeSchema>;

/** A change as one line of the log; a line is whole only with its newline. */
export function changeLine(c: StateChange): string {
  return `${JSON.stringify(c)}\n`;
}

export class StateLogError extends Error {}

/**
 * The snapshot with the log's changes applied in order. The log is written by appending whole
 * lines, so only its last line can be torn (a crash in mid-append: never acknowledged, so dropped);
 * `keptBytes` is where the whole lines end, the length to cut the file to before appending again.
 */
export function replay(snapshot: PersistedState, log: string): { state: PersistedState; keptBytes: number } {
  const members = new Map<string, MemberEntry>(snapshot.members.map((e) => [e.key, e]));
  const data = new Map<string, DataEntry>(snapshot.data.map((e) => [e.key, e]));
  let { cluster_id, fresh } = snapshot;
  const end = log.lastIndexOf('\n') + 1;
  let lineNo = 0;
  for (const line of log.slice(0, end).split('\n')) {
    lineNo++;
    if (!line) continue;
    let parsed: z.SafeParseReturnType<unknown, StateChange>;
    try {
      parsed = stateChangeSchema.safeParse(JSON.parse(line));
    } catch {
      throw new StateLogError(`line ${lineNo} is not valid JSON`);
    }
    if (!parsed.success) throw new StateLogError(`line ${lineNo} is not a state change (${parsed.error.issues[0]?.message})`);
    const c = parsed.data;
    cluster_id = c.cluster_id;
    fresh = c.fresh;
    for (const e of c.members ?? []) members.set(e.key, e);
    for (const e of c.data ?? []) data.set(e.key, e);
    for (const k of c.dropped_members ?? []) members.delete(k);
    for (const k of c.dropped_data ?? []) data.delete(k);
  }
  return {
    state: { ...snapshot, cluster_id, fresh, members: [...members.values()], data: [...data.values()] },
    keptBytes: Buffer.byteLength(log.slice(0, end)),
  };
}
