import fs, { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod/v3';
import { memberEntrySchema, dataEntrySchema } from '../domain/state';
import { DEFAULT_TUNING } from '../tuning';
import { systemClock, type Clock, type Timer } from '../runtime/clock';

/** What a node keeps in `node.data_dir` across restarts. */
export const persistedStateSchema = z.object({
  format: z.literal(1),
  node: z.string(),
  cluster_id: z.string(),
  members: z.array(memberEntrySchema),
  data: z.array(dataEntrySchema),
  /** Never part of a cluster nor written to since its first boot: a cluster listing it may adopt it. */
  fresh: z.boolean().optional(),
});
export type PersistedState = z.infer<typeof persistedStateSchema>;

export const STATE_FILE = 'state.json';

export class StateFileError extends Error {}

/** Reads the state, or undefined on a node's first boot. */
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
  return parsed.data;
}

/** Writes atomically (temp file, fsync, rename) so a crash never leaves half a state file. */
export function writeState(dir: string, state: PersistedState): void {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, STATE_FILE);
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(state));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

// node:fs's callback API, promisified: node:fs/promises would load its file handles, directory
// streams and readline into every agent (about 0.6 MB of RSS) for this one small write.
const fsAsync = {
  open: promisify(fs.open),
  writeFile: promisify(fs.writeFile),
  fsync: promisify(fs.fsync),
  close: promisify(fs.close),
  rename: promisify(fs.rename),
  mkdir: promisify(fs.mkdir),
};

async function writeStateAsync(dir: string, state: PersistedState): Promise<void> {
  const file = path.join(dir, STATE_FILE);
  const tmp = `${file}.tmp`;
  // The directory exists from the first write; it is made again only if it went away since.
  const fd = await fsAsync.open(tmp, 'w', 0o600).catch(async (e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
    await fsAsync.mkdir(dir, { recursive: true });
    return fsAsync.open(tmp, 'w', 0o600);
  });
  try {
    await fsAsync.writeFile(fd, JSON.stringify(state));
    await fsAsync.fsync(fd);
  } finally {
    await fsAsync.close(fd);
  }
  await fsAsync.rename(tmp, file);
}

/**
 * Where a node's state lives: the files in `node.data_dir` for an agent, memory for the simulator
 * (which makes a disk slow or failing on demand). `read` and `writeNow` run once, at start.
 */
export interface StateDisk {
  read(dir: string): PersistedState | undefined;
  writeNow(dir: string, state: PersistedState): void;
  /** Saves off the event loop; rejects with an errno-style error (`code`) when the disk fails. */
  write(dir: string, state: PersistedState): Promise<void>;
}

export const fileDisk: StateDisk = { read: readState, writeNow: writeState, write: writeStateAsync };

/**
 * Writes the state off the event loop (fsync takes milliseconds, and a forming cluster changes its
 * member list dozens of times a second): saves asked for while a write is in flight, or in the same
 * turn of the event loop, share the next write, which takes the state as it is then. Each caller
 * learns when a write holding its change is on disk, so acknowledgements still mean persisted.
 */
export class StateWriter {
  private waiting: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private writing = false;
  private soon?: Timer;

  constructor(
    private readonly dir: string,
    private readonly state: () => PersistedState,
    private readonly onError: (e: Error) => void,
    private readonly soonMs = DEFAULT_TUNING.store.saveSoonMs,
    private readonly clock: Clock = systemClock,
    private readonly disk: StateDisk = fileDisk,
  ) {}

  save(): Promise<void> {
    // This write takes the state as it is then, so it holds whatever a pending saveSoon was for.
    this.clock.clearTimeout(this.soon);
    this.soon = undefined;
    const done = new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
    if (!this.writing) {
      this.writing = true;
      void this.drain();
    }
    return done;
  }

  /**
   * A save nobody waits for (what was learned from other members, which they hold too and give
   * again at the next sync): made within `soonMs` (tuning.store.saveSoonMs), or with any save asked for sooner. While 100
   * nodes formed, writing after every such change was about 9 % of an agent's CPU.
   */
  saveSoon(): void {
    if (this.soon) return;
    this.soon = this.clock.setTimeout(() => {
      this.soon = undefined;
      this.save().catch(() => undefined);
    }, this.soonMs);
    this.soon.unref();
  }

  private async drain(): Promise<void> {
    while (this.waiting.length) {
      // Let the rest of this turn's changes join the write.
      await new Promise<void>((r) => this.clock.setImmediate(r));
      const batch = this.waiting.splice(0);
      try {
        await this.disk.write(this.dir, this.state());
        for (const w of batch) w.resolve();
      } catch (e) {
        const err = new StateFileError(`cannot write ${path.join(this.dir, STATE_FILE)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        this.onError(err);
        for (const w of batch) w.reject(err);
      }
    }
    this.writing = false;
  }
}
