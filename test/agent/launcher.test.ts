import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { MUSTER } from '../support/agents';
// @ts-expect-error: plain JavaScript, shared with node-agent/build.mjs and the image's Dockerfile
import { coreHash } from '../../node-agent/code-cache.mjs';

const DIST = path.dirname(MUSTER);

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** The node flags of the launcher's first line, which the cache must have been made under. */
function launcherFlags(): string[] {
  const first = readFileSync(MUSTER, 'utf8').split('\n')[0];
  const m = /^#!\/usr\/bin\/env -S node (.*)$/.exec(first);
  assert.ok(m, `first line of ${MUSTER}: ${first}`);
  return m[1].split(' ');
}

describe('muster starts its bundle with the code cache made for it (node-agent/launcher.cjs)', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'muster-launcher-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('the build made a cache for this very bundle, and V8 takes it under the launcher flags', async () => {
    const cache = path.join(DIST, `muster-core.${coreHash(DIST)}.cache`);
    assert.ok(existsSync(cache), `${cache} exists`);
    const probe = `
      const vm = require('node:vm'), fs = require('node:fs'), Module = require('node:module');
      const s = new vm.Script(Module.wrap(fs.readFileSync(process.argv[1], 'utf8')), { filename: process.argv[1], cachedData: fs.readFileSync(process.argv[2]) });
      console.log(JSON.stringify({ rejected: s.cachedDataRejected }));`;
    const r = await run(process.execPath, [...launcherFlags(), '-e', probe, path.join(DIST, 'muster-core.js'), cache]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { rejected: false });
  });

  it('runs the bundle as well without a cache, and with a broken one', async () => {
    for (const f of ['muster.js', 'muster-core.js']) copyFileSync(path.join(DIST, f), path.join(tmp, f));
    const bin = path.join(tmp, 'muster.js');
    const version = JSON.parse(readFileSync('package.json', 'utf8')).version as string;
    const bare = await run(bin, ['--version']);
    assert.equal(bare.code, 0, bare.stderr);
    assert.equal(bare.stdout.trim(), version);
    writeFileSync(path.join(tmp, `muster-core.${coreHash(tmp)}.cache`), 'not a code cache');
    const broken = await run(bin, ['--version']);
    assert.equal(broken.code, 0, broken.stderr);
    assert.equal(broken.stdout.trim(), version);
  });

  it('without its bundle beside it, says which file it cannot read, and exits 1', async () => {
    const alone = mkdtempSync(path.join(tmp, 'alone-'));
    copyFileSync(MUSTER, path.join(alone, 'muster.js'));
    const r = await run(path.join(alone, 'muster.js'), ['--version']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`cannot read its bundle ${path.join(alone, 'muster-core.js').replace(/[.]/g, '\\.')} \\(ENOENT\\)`));
  });

  it('MUSTER_CODE_CACHE_OUT is the launcher own: the config never sees it, and the cache is written at exit', async () => {
    const out = path.join(tmp, 'written.cache');
    // No agent listens there: ctl fails to connect, which is the config's verdict passed.
    const r = await run(MUSTER, ['ctl', 'cluster', 'status'], {
      MUSTER_CODE_CACHE_OUT: out,
      MUSTER_NODE__NAME: 'muster@127.0.25.99',
      MUSTER_NODE__COOKIE: 'c',
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot connect to 127\.0\.25\.99:4370/);
    assert.doesNotMatch(r.stderr, /MUSTER_CODE_CACHE_OUT|not a config key/);
    assert.ok(statSync(out).size > 1000, 'a cache was written');
  });

  it('an agent listens without loading the Node.js modules only rarely taken paths need (their cost is paid at every start)', async () => {
    const probe = path.join(tmp, 'modules-at-listen.cjs');
    // Preloaded: at the first listening socket (the cluster port), prints the built-in modules loaded so far, and ends the process.
    writeFileSync(
      probe,
      `const net = require('node:net'); const listen = net.Server.prototype.listen;
       net.Server.prototype.listen = function (...a) { this.once('listening', () => { process.stderr.write('MODULES ' + process.moduleLoadList.join(',') + '\\n'); process.exit(0); }); return listen.apply(this, a); };`,
    );
    const r = await run(MUSTER, ['agent'], {
      NODE_OPTIONS: `--require=${probe}`,
      MUSTER_NODE__NAME: 'muster@127.0.25.98',
      MUSTER_NODE__COOKIE: 'a-cookie-long-enough-for-the-agent',
      MUSTER_NODE__DATA_DIR: mkdtempSync(path.join(tmp, 'data-')),
    });
    const line = r.stderr.split('\n').find((l) => l.startsWith('MODULES '));
    assert.ok(line, `the agent listened: ${r.stderr.slice(0, 500)}`);
    const loaded = new Set(line.slice('MODULES '.length).split(',').map((m) => m.replace(/^NativeModule /, '')));
    // worker_threads and assert: pino's worker transports, its isMainThread check, sonic-boom's
    // assert (node-agent/build.mjs LAZY_REQUIRES, log.ts); http: loaded after the cluster port listens.
    for (const m of ['worker_threads', 'assert', 'http', 'https', 'tls']) assert.ok(!loaded.has(m), `node:${m} is not loaded before the agent listens`);
    assert.ok(loaded.has('crypto') && loaded.has('net'), 'the probe read the list (crypto and net are there)');
  });
});
