import { execFile } from 'node:child_process';
import http from 'node:http';

/** A call to the Docker Engine API on its unix socket, as the provider's Go client makes them. */
export class EngineError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

// The provider's client negotiates the API version with the daemon; the test engine is Debian's
// docker.io. Unversioned paths take the daemon's own version.
export function engine<T = unknown>(method: string, pathname: string, body?: unknown, contentType = 'application/json'): Promise<T> {
  const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      { socketPath: '/var/run/docker.sock', path: pathname, method, headers: payload ? { 'Content-Type': contentType, 'Content-Length': payload.length } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          const status = res.statusCode ?? 500;
          if (status >= 400) {
            let msg = text.trim();
            try {
              msg = (JSON.parse(text) as { message: string }).message;
            } catch {
              // not JSON
            }
            return reject(new EngineError(msg, status));
          }
          try {
            resolve((text ? JSON.parse(text) : {}) as T);
          } catch {
            resolve({} as T);
          }
        });
      },
    );
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/** The docker CLI, for what the provider does through the API but is simpler to drive from here (legacy build). */
export function dockerCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('docker', args, { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`docker ${args.join(' ')}: ${stderr.trim() || err.message}`)) : resolve(stdout.trim()),
    ),
  );
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
