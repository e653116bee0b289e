import pino, { type Logger } from 'pino';
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
  const dest = stdoutDestination();
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
  return log;
}

/**
 * Stdout as `pino.destination({ sync: false })` makes it, built here because pino's asks
 * node:worker_threads whether it runs on the main thread (about 9 ms of CPU at every start, for a
 * module the agent never uses otherwise): a closed stdout (EPIPE) ends logging instead of the
 * process, and the lines still held are written out when the process exits.
 */
function stdoutDestination(): SonicBoom {
  const dest = new SonicBoom({ fd: 1, sync: false, maxLength: LOG_BUFFER_BYTES });
  const onError = (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') {
      dest.off('error', onError);
      dest.emit('error', err);
      return;
    }
    // Nobody reads the lines any more: drop them from now on.
    dest.write = () => true;
    dest.flushSync = () => undefined;
  };
  dest.on('error', onError);
  process.once('exit', () => {
    // SonicBoom's `destroyed` is set (as pino's own exit handler reads it) but not in its types.
    if ((dest as SonicBoom & { destroyed?: boolean }).destroyed) return;
    try {
      dest.flushSync();
    } catch {
      // Not writable (stdout gone, or not open yet): nothing more can be done at exit.
    }
  });
  return dest;
}

/** Writes out the lines still held in memory (before the process exits); gives up after `timeoutMs`. */
export function flushLog(log: Logger, timeoutMs = 2000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref();
    log.flush(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
export type { Logger };
