// Makes the V8 code cache that `muster` (launcher.cjs) starts the bundle with: three agents form a
// cluster on loopback (127.77.0.1-3), so that starting, discovery, the handshakes, a join, links,
// gossip and ctl are all compiled, and the one that joined writes the cache as it exits.
// `node code-cache.mjs <dir>` (dir holds muster.js and muster-core.js): run by `npm run build` and
// by the image's Dockerfile, so the cache matches the Node.js that runs it (V8 refuses a cache
// from another version or other flags, and the agent then compiles as it would without one).
// Exit code 1 when no cache was made, with the reason; the agent works without one.
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const NAMES = ['muster@127.77.0.1', 'muster@127.77.0.2', 'muster@127.77.0.3'];
const FORM_TIMEOUT_MS = 30_000;

/** The hash in the cache's name: of the bundle's bytes, so a cache is read only by its own bundle. */
export function coreHash(dir) {
  return createHash('sha256').update(readFileSync(path.join(dir, 'muster-core.js'))).digest('hex').slice(0, 16);
}

/**
 * The node flags muster.js runs under (its shebang, written by build.mjs): the cache must be made
 * under the same flags, and node is called with them directly, not through the shebang, which
 * BusyBox's env cannot run.
 */
export function nodeFlags(dir) {
  const first = readFileSync(path.join(dir, 'muster.js'), 'utf8').split('\n', 1)[0];
  const m = /^#!\/usr\/bin\/env -S node(.*)$/.exec(first);
  if (!m) throw new Error(`${path.join(dir, 'muster.js')} does not start with the launcher's shebang`);
  return m[1].trim().split(/\s+/).filter(Boolean);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs the training cluster and writes `<dir>/muster-core.<hash>.cache`; throws with the reason. */
export async function makeCodeCache(dir) {
  for (const f of readdirSync(dir)) if (/^muster-core\..*\.cache$/.test(f)) rmSync(path.join(dir, f));
  const bin = path.join(dir, 'muster.js');
  const node = [...nodeFlags(dir), bin];
  const work = mkdtempSync(path.join(tmpdir(), 'muster-code-cache-'));
  const out = path.join(work, 'cache');
  const cookie = randomBytes(16).toString('hex');
  const envOf = (name) => ({
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    MUSTER_NODE__NAME: name,
    MUSTER_NODE__COOKIE: cookie,
    MUSTER_NODE__DATA_DIR: path.join(work, name),
    MUSTER_CLUSTER__DISCOVERY_STRATEGY: 'static',
    MUSTER_CLUSTER__STATIC__SEEDS: `[${NAMES.join(',')}]`,
  });
  const procs = NAMES.map((name, i) => {
    const env = { ...envOf(name), ...(i === NAMES.length - 1 ? { MUSTER_CODE_CACHE_OUT: out } : {}) };
    const p = spawn(process.execPath, [...node, 'agent'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    p.stderrText = '';
    p.stderr.on('data', (d) => (p.stderrText += d));
    return p;
  });
  const exited = procs.map((p) => new Promise((r) => p.once('exit', r)));
  try {
    // The last name joins the first: done when it lists all three running.
    const deadline = Date.now() + FORM_TIMEOUT_MS;
    for (;;) {
      const dead = procs.find((p) => p.exitCode !== null);
      if (dead) throw new Error(`an agent exited (code ${dead.exitCode}): ${dead.stderrText.trim().split('\n').pop() ?? ''}`);
      const running = await new Promise((r) =>
        execFile(process.execPath, [...node, 'ctl', 'cluster', 'status', '--json'], { env: envOf(NAMES[2]), timeout: 5000 }, (err, stdout) => {
          try {
            r(err ? [] : JSON.parse(stdout).running_nodes);
          } catch {
            r([]);
          }
        }),
      );
      if (running.length === NAMES.length) break;
      if (Date.now() > deadline) throw new Error(`the training cluster on ${NAMES.join(', ')} did not form within ${FORM_TIMEOUT_MS / 1000} s`);
      await sleep(200);
    }
    for (const p of procs) p.kill('SIGTERM');
    await Promise.race([Promise.all(exited), sleep(10_000)]);
    if (!existsSync(out) || statSync(out).size === 0) throw new Error('the joining agent wrote no cache as it stopped');
    const target = path.join(dir, `muster-core.${coreHash(dir)}.cache`);
    copyFileSync(out, target);
    return target;
  } finally {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = path.resolve(process.argv[2] ?? path.dirname(fileURLToPath(import.meta.url)));
  makeCodeCache(dir).then(
    (file) => console.log(`code cache: ${file}`),
    (e) => {
      console.error(`code cache not made: ${e.message}; muster runs without one (each start compiles the bundle)`);
      process.exit(1);
    },
  );
}
