import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * `<data_dir>/http-listener`: where this node's HTTP listener answers (`<host> <port> <http|https>`),
 * so the image's healthcheck (`muster-health`, a shell script) asks it without starting Node.js
 * and without parsing the config. Removed when the listener is off: a healthcheck then falls
 * back to `muster ctl cluster ready` instead of dialling a listener that is not there.
 */
export const LISTENER_FILE = 'http-listener';

export function writeListenerFile(dataDir: string, listener: { host: string; port: number; tls: boolean } | undefined): void {
  const file = path.join(dataDir, LISTENER_FILE);
  if (!listener) return rmSync(file, { force: true });
  writeFileSync(file, `${listener.host} ${listener.port} ${listener.tls ? 'https' : 'http'}\n`);
}
