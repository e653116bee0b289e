import { renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * `<data_dir>/http-listener`: where this node's HTTP listener answers (`<host> <port> <http|https>`),
 * so the image's healthcheck (`muster-health`, a shell script) asks it without starting Node.js
 * and without parsing the config. Removed at start (until this run listens) and at stop, and when
 * the listener is off: a healthcheck then falls
 * back to `muster ctl cluster ready` instead of dialling a listener that is not there.
 */
export const LISTENER_FILE = 'http-listener';

export function writeListenerFile(dataDir: string, listener: { host: string; port: number; tls: boolean } | undefined): void {
  const file = path.join(dataDir, LISTENER_FILE);
  if (!listener) return rmSync(file, { force: true });
  // Whole or not at all: a healthcheck reading it mid-write must not see half an address.
  writeFileSync(`${file}.tmp`, `${listener.host} ${listener.port} ${listener.tls ? 'https' : 'http'}\n`);
  renameSync(`${file}.tmp`, file);
}
