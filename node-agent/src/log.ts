import pino, { type Logger } from 'pino';
import fs from 'node:fs';
import SonicBoom from 'sonic-boom';

import { DEFAULT_TUNING } from './tuning';

const { bufferBytes: LOG_BUFFER_BYTES, dropReportMs: DROP_REPORT_MS } = DEFAULT_TUNING.log;

/**
 * Structured JSON lines on stdout, each with the node name, as log shippers expect.
 *
 * Writes never block the event loop: a synchronous write to a full pipe (a log reader that fell
 * behind, common on a machine short of CPU) waits until the reader catches up, and a node whose
 * event loop waits answers no probes and is reported down by its neighbours. Lines wait in memory
 * instead, up to a bound; lines past it are dropped, and how many is logged once there is room.
 */
export function createLogger(node: string, level: string): Logger {
  const { dest, flushHeld } = stdoutDestination();
  let dropped = 0;
  // Armed by the first dropped line, not a periodic timer: an idle agent has no wakeup for this.
  dest.on('drop', () => {
    if (dropped++ === 0) setTimeout(reportDropped, DROP_REPORT_MS).unref();
  });
  const log = pino(
    {
      level,
      base: { node },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    dest,
  );
  function reportDropped(): void {
    const n = dropped;
    dropped = 0;
    log.warn({ dropped: n }, `${n} log line(s) dropped: stdout was not read fast enough`);
  }
  flushers.set(log, flushHeld);
  return log;
}

/**
 * A logger that writes nothing (the ctl's connections, the ctl's TLS loading). Given a stream of
 * its own: with none, pino builds a stdout stream and loads node:worker_threads for it (9 ms of
 * CPU at every `muster ctl`).
 */
export function silentLogger(): Logger {
  return pino({ enabled: false }, { write: () => undefined });
}

/** What each logger made here writes out at once, synchronously (flushLog, and at exit). */
const flushers = new WeakMap<Logger, (timeoutMs: number) => void>();

/**
 * Stdout as `pino.destination({ sync: false })` makes it, built here because pino's asks
 * node:worker_threads whether it runs on the main thread (about 9 ms of CPU at every start, for a
 * module the agent never uses otherwise): a closed stdout (EPIPE) ends logging instead of the
 * process, and the lines still held are written out when the process exits.
 */
function stdoutDestination(): { dest: SonicBoom; flushHeld: (timeoutMs: number) => void } {
  const dest = new SonicBoom({ fd: 1, sync: false, maxLength: LOG_BUFFER_BYTES });
  let closed = false;
  const onError = (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') {
      dest.off('error', onError);
      dest.emit('error', err);
      return;
    }
    // Nobody reads the lines any more: drop them from now on.
    closed = true;
    dest.write = () => true;
  };
  dest.on('error', onError);
  const flushHeld = (timeoutMs: number) => {
    if (!closed) closed = writeHeld(dest, timeoutMs);
  };
  process.once('exit', () => flushHeld(1000));
  return { dest, flushHeld };
}

/**
 * Writes what `dest` still holds to its fd, synchronously, for at most `timeoutMs`; true when the
 * fd refused (the reader is gone). Not SonicBoom's flushSync: it retries a closed pipe (EPIPE)
 * every 100 ms for ever, so an agent whose log reader went away at the wrong moment would never
 * exit. A write already handed to the system (SonicBoom's `_writingBuf` while `_writing`) is left
 * to finish, as flushSync leaves it.
 */
function writeHeld(dest: SonicBoom, timeoutMs: number): boolean {
  const s = dest as unknown as { destroyed?: boolean; fd: number; _writing?: boolean; _writingBuf?: unknown; _bufs?: unknown; _len?: number };
  if (s.destroyed || s.fd < 0 || !Array.isArray(s._bufs) || typeof s._writingBuf !== 'string' || !s._bufs.every((b) => typeof b === 'string')) return false;
  let pending = Buffer.from((s._writing ? '' : s._writingBuf) + (s._bufs as string[]).join(''));
  if (!s._writing) s._writingBuf = '';
  s._bufs = [];
  s._len = s._writing ? Buffer.byteLength(s._writingBuf as string) : 0;
  const deadline = Date.now() + timeoutMs;
  while (pending.length && Date.now() < deadline) {
    try {
      pending = pending.subarray(fs.writeSync(s.fd, pending));
    } catch (e) {
      // A full non-blocking pipe: try again until the deadline; anything else ends it.
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') return true;
    }
  }
  return false;
}

/** Writes out the lines still held in memory (before the process exits), synchronously, for at most `timeoutMs`. */
export function flushLog(log: Logger, timeoutMs = 2000): Promise<void> {
  flushers.get(log)?.(timeoutMs);
  return Promise.resolve();
}
export type { Logger };
