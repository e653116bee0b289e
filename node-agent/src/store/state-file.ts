import fs, { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, truncateSync, writeSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod/v3';
import { memberEntrySchema, dataEntrySchema } from '../domain/state';
import { changeLine, replay, type StateChange } from './state-log';

/** What a node keeps in `node.data_dir` across restarts. */
export const persistedStateSchema = z.object({
  format: z.literal(1),
  node: z.string(),
  cluster_id: z.string(),
  members: z.array(memberEntrySchema),
  data: z.array(dataEntrySchema),
  /** Never part of a cluster nor written to since its first boot: a cluster listing it may adopt it. */
  fresh: z.boolean().optional(),
  /** The generation of the log of changes made since this snapshot (`state.<log>.log`); none before the log existed. */
  log: z.number().int().positive().optional(),
});
export type PersistedState = z.infer<typeof persistedStateSchema>;

export const STATE_FILE = 'state.json';
/** The log of changes made since the snapshot `generation` was written. */
export const logFile = (generation: number) => `state.${generation}.log`;

export class StateFileError extends Error {}

/** What the file disk knows of a data directory once it has read or written it. */
interface DirInfo {
  generation: number;
  snapshotBytes: number;
  logBytes: number;
}
const dirs = new Map<string, DirInfo>();

/**
 * Reads the snapshot and replays its log: the state, or undefined on a node's first boot. A torn
 * last line of the log (a crash in mid-append) is cut off, so appending goes on after whole lines.
 */
export function readState(dir: string): PersistedState | undefined {
  const file = path.join(dir, STATE_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StateFileError(`${file}: cannot be read (${(e as NodeJS.ErrnoException).code})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new StateFileError(`${file}: is not valid JSON; move it away to start this node empty`);
  }
  const parsed = persistedStateSchema.safeParse(json);
  if (!parsed.success) throw new StateFileError(`${file}: is not a Muster state file (${parsed.error.issues[0]?.message})`);
  const generation = parsed.data.log ?? 0;
  const logPath = path.join(dir, logFile(generation));
  let log = '';
  try {
    log = readFileSync(logPath, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new StateFileError(`${logPath}: cannot be read (${(e as NodeJS.ErrnoException).code})`);
  }
  let replayed: ReturnType<typeof replay>;
  try {
    replayed = replay(parsed.data, log);
  } catch (e) {
    throw new StateFileError(`${logPath}: ${(e as Error).message}; move ${STATE_FILE} and the log away to start this node empty`);
  }
  if (replayed.keptBytes < Buffer.byteLength(log)) truncateSync(logPath, replayed.keptBytes);
  removeOldLogs(dir, generation);
  dirs.set(dir, { generation, snapshotBytes: Buffer.byteLength(text), logBytes: replayed.keptBytes });
  return replayed.state;
}

/** Logs of earlier snapshots: left by a crash between a snapshot's rename and their removal. */
function removeOldLogs(dir: string, current: number): void {
  for (const f of readdirSync(dir)) {
    const m = /^state\.(\d+)\.log$/.exec(f);
    if (m && Number(m[1]) !== current) rmSync(path.join(dir, f), { force: true });
  }
}

/**
 * Writes a snapshot atomically (temp file, fsync, rename) so a crash never leaves half a state
 * file. The snapshot names a new, empty log; the old log goes after the rename (a crash before that
 * leaves a log the new snapshot does not name, which is ignored and removed at the next start).
 */
export function writeState(dir: string, state: PersistedState): void {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, STATE_FILE);
  const tmp = `${file}.tmp`;
  const previous = dirs.get(dir);
  const generation = (previous?.generation ?? 0) + 1;
  const text = JSON.stringify({ ...state, log: generation });
  // A log of this generation can only be a leftover (a state file removed by hand): never replayed.
  rmSync(path.join(dir, logFile(generation)), { force: true });
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  dirs.set(dir, { generation, snapshotBytes: Buffer.byteLength(text), logBytes: 0 });
  if (previous) rmSync(path.join(dir, logFile(previous.generation)), { force: true });
}

// node:fs's callback API, promisified: node:fs/promises would load its file handles, directory
// streams and readline into every agent (about 0.6 MB of RSS) for this one small write.
const fsAsync = {
  open: promisify(fs.open),
  write: promisify(fs.write),
  writeFile: promisify(fs.writeFile),
  fsync: promisify(fs.fsync),
  close: promisify(fs.close),
  rename: promisify(fs.rename),
  mkdir: promisify(fs.mkdir),
  rm: promisify(fs.rm),
};

async function writeStateAsync(dir: string, state: PersistedState): Promise<void> {
  const file = path.join(dir, STATE_FILE);
  const tmp = `${file}.tmp`;
  const previous = dirs.get(dir);
  const generation = (previous?.generation ?? 0) + 1;
  const text = JSON.stringify({ ...state, log: generation });
  // The directory exists from the first write; it is made again only if it went away since.
  const fd = await fsAsync.open(tmp, 'w', 0o600).catch(async (e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
    await fsAsync.mkdir(dir, { recursive: true });
    return fsAsync.open(tmp, 'w', 0o600);
  });
  try {
    await fsAsync.writeFile(fd, text);
    await fsAsync.fsync(fd);
  } finally {
    await fsAsync.close(fd);
  }
  await fsAsync.rm(path.join(dir, logFile(generation)), { force: true });
  await fsAsync.rename(tmp, file);
  dirs.set(dir, { generation, snapshotBytes: Buffer.byteLength(text), logBytes: 0 });
  if (previous) await fsAsync.rm(path.join(dir, logFile(previous.generation)), { force: true }).catch(() => undefined);
}

/** Appends one change to the current snapshot's log and fsyncs it. */
async function appendChange(dir: string, change: StateChange): Promise<LogSizes> {
  const info = dirs.get(dir);
  // The log belongs to a snapshot: a directory never read nor written has none to append to.
  if (!info) throw new StateFileError(`${dir}: no snapshot to append to (read or write the state first)`);
  const line = Buffer.from(changeLine(change));
  const fd = await fsAsync.open(path.join(dir, logFile(info.generation)), 'a', 0o600);
  try {
    let off = 0;
    while (off < line.length) off += (await fsAsync.write(fd, line, off, line.length - off)).bytesWritten;
    await fsAsync.fsync(fd);
  } finally {
    await fsAsync.close(fd);
  }
  info.logBytes += line.length;
  return { logBytes: info.logBytes, snapshotBytes: info.snapshotBytes };
}

export interface LogSizes {
  logBytes: number;
  snapshotBytes: number;
}

/**
 * Where a node's state lives: a snapshot and a log of changes in `node.data_dir` for an agent,
 * memory for the simulator (which makes a disk slow or failing on demand). `read` and `writeNow`
 * run once, at start.
 */
export interface StateDisk {
  /** The snapshot with its log replayed. */
  read(dir: string): PersistedState | undefined;
  writeNow(dir: string, state: PersistedState): void;
  /** A new snapshot, off the event loop; rejects with an errno-style error (`code`) when the disk fails. */
  write(dir: string, state: PersistedState): Promise<void>;
  /** One change appended to the log; the sizes tell the writer when a new snapshot is due. */
  append(dir: string, change: StateChange): Promise<LogSizes>;
}

export const fileDisk: StateDisk = { read: readState, writeNow: writeState, write: writeStateAsync, append: appendChange };
