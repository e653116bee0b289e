// Bundles the agent and ctl into one file that runs with plain `node` (the node image needs nothing else).
import { build } from 'esbuild';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { coreHash, makeCodeCache } from './code-cache.mjs';

const require = createRequire(import.meta.url);

/**
 * etcd3 reads its .proto files from disk next to its own source at load time, which a bundle
 * cannot do. Compile them to a JSON descriptor at build time and load that instead.
 */
const etcd3Protos = {
  name: 'etcd3-protos',
  setup(b) {
    b.onLoad({ filter: /etcd3[\\/]lib[\\/]connection-pool\.js$/ }, (args) => {
      const src = readFileSync(args.path, 'utf8');
      const call = '(0, proto_loader_1.loadSync)(`${__dirname}/../proto/rpc.proto`,';
      if (!src.includes(call)) throw new Error(`etcd3 changed how it loads its protos (${args.path}); update node-agent/build.mjs`);
      const protobuf = require(require.resolve('protobufjs', { paths: [path.dirname(require.resolve('@grpc/proto-loader'))] }));
      const root = new protobuf.Root();
      root.loadSync(path.join(path.dirname(args.path), '../proto/rpc.proto'), { keepCase: true });
      const descriptor = JSON.stringify(root.toJSON());
      return { contents: src.replace(call, `(0, proto_loader_1.fromJSON)(${descriptor},`), loader: 'js' };
    });
  },
};

/** In the main bundle, `etcd3` is the file built from it below, found next to the bundle at run time. */
const etcd3Vendored = {
  name: 'etcd3-vendored',
  setup(b) {
    b.onResolve({ filter: /^etcd3$/ }, () => ({ path: './vendor-etcd3.js', external: true }));
  },
};

/**
 * Node.js modules that libraries load at their top but the agent needs only on a path it rarely
 * or never takes, loaded there instead: about 18 ms of CPU at every start on the machines we
 * measure (pino's worker-thread transports, which bring thread-stream and assert; its check of
 * worker_threads.isMainThread, made when pino builds a stdout stream itself, which the agent and
 * ctl never let it do: log.ts; sonic-boom's assert, for one check when it is destroyed). Not commander's child_process: listening loads it
 * anyway (net.Server.listen asks node:cluster). Exact texts, so a library that changes fails the
 * build here instead of quietly loading them again.
 */
const LAZY_REQUIRES = [
  { file: /pino[\\/]lib[\\/]tools\.js$/, text: "const transport = require('./transport')", lazy: "const transport = (...a) => require('./transport')(...a)" },
  { file: /pino[\\/]lib[\\/]tools\.js$/, text: "const { isMainThread } = require('worker_threads')", lazy: '' },
  { file: /pino[\\/]lib[\\/]tools\.js$/, text: 'if (!opts.sync && isMainThread) {', lazy: "if (!opts.sync && require('worker_threads').isMainThread) {" },
  {
    file: /pino[\\/]pino\.js$/,
    text: "module.exports.transport = require('./lib/transport')",
    lazy: "Object.defineProperty(module.exports, 'transport', { get: () => require('./lib/transport'), enumerable: true, configurable: true })",
  },
  { file: /sonic-boom[\\/]index\.js$/, text: "const assert = require('assert')", lazy: "const assert = (...a) => require('assert')(...a)" },
];
const lazyRequires = {
  name: 'lazy-requires',
  setup(b) {
    b.onLoad({ filter: /(pino|sonic-boom)[\\/].*\.js$/ }, (args) => {
      const edits = LAZY_REQUIRES.filter((e) => e.file.test(args.path));
      if (!edits.length) return undefined;
      let src = readFileSync(args.path, 'utf8');
      for (const e of edits) {
        const count = src.split(e.text).length - 1;
        if (count !== 1) throw new Error(`${args.path} has \`${e.text}\` ${count} times, not once: update LAZY_REQUIRES in node-agent/build.mjs`);
        src = src.replace(e.text, e.lazy);
        e.applied = true;
      }
      // A binding removed above must not be used anywhere else in the file (a ReferenceError at run time).
      for (const e of edits) {
        const removed = /^const \{ (\w+) \} = require\(/.exec(e.text)?.[1];
        if (removed && e.lazy === '' && new RegExp(`(?<![.\\w'])${removed}\\b(?!')`).test(src.replaceAll(`require('worker_threads').${removed}`, ''))) {
          throw new Error(`${args.path} still uses ${removed} after its require was removed: update LAZY_REQUIRES in node-agent/build.mjs`);
        }
      }
      return { contents: src, loader: 'js' };
    });
  },
};

/**
 * How `node` runs the agent, in the shebang of dist/muster.js (the one launcher: the image's
 * `muster` wrapper execs it, and so do the tests and the bench; the code cache is made under the
 * same flags, which V8 requires). Lite mode (V8's interpreter only,
 * feedback allocated lazily) because an agent's work comes in short bursts (a formation, a crash)
 * where optimising compilation costs more than it returns: measured on 30 agents forming on
 * 2 cores, 10.3-10.5 CPU-s instead of 12.2-13.5, and RSS 49 MB per agent instead of 58.
 * `--no-expose-wasm`: lite mode turns WebAssembly off anyway, and says so on stderr unless asked.
 */
const NODE_FLAGS = '--lite-mode --no-expose-wasm';

const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: 'linked', logLevel: 'warning' };

// Left over from before the launcher (dist/muster.js ran the bundle itself).
rmSync('dist/muster.js.map', { force: true });

await build({
  ...common,
  entryPoints: ['node-agent/src/main.ts'],
  outfile: 'dist/muster-core.js',
  // V8 keeps the source of every script in memory for its life: minified (function and class
  // names kept for stack traces, muster.js.map beside it for the rest), 0.3 MB less per agent.
  minify: true,
  keepNames: true,
  plugins: [etcd3Vendored, lazyRequires],
  define: { MUSTER_VERSION: JSON.stringify(JSON.parse(readFileSync('package.json', 'utf8')).version) },
});

for (const e of LAZY_REQUIRES) if (!e.applied) throw new Error(`no bundled file matched ${e.file} for \`${e.text}\`: update LAZY_REQUIRES in node-agent/build.mjs`);

// The etcd client (gRPC, protobuf: half the code) goes into a file of its own next to the bundle,
// loaded only by nodes that use etcd discovery: every other node reads, compiles and keeps in
// memory that much less (about 3 MB of RSS per agent).
await build({
  ...common,
  stdin: { contents: "module.exports = require('etcd3');", resolveDir: process.cwd(), sourcefile: 'vendor-etcd3.js' },
  outfile: 'dist/vendor-etcd3.js',
  plugins: [etcd3Protos],
});

// `muster` itself: the launcher (node-agent/launcher.cjs), which starts the bundle with its code
// cache, named by the bundle's hash.
// The shebang (GNU env's -S) serves `npx muster` on development machines; the image's `muster`
// wrapper below calls node with the same flags itself, because BusyBox's env (node:*-alpine) has
// no -S and would look for a program named "node --lite-mode ...".
const launcher = readFileSync('node-agent/launcher.cjs', 'utf8').replace('__CORE_HASH__', coreHash('dist'));
writeFileSync('dist/muster.js', `#!/usr/bin/env -S node ${NODE_FLAGS}\n${launcher}`);
chmodSync('dist/muster.js', 0o755);
try {
  await makeCodeCache('dist');
} catch (e) {
  console.warn(`node-agent/build.mjs: code cache not made: ${e.message}; muster runs without one (each start compiles the bundle)`);
}

// The node image's build context: the Dockerfile, the launcher, the bundle, its etcd file, the code-cache
// maker, the `muster` wrapper and the healthcheck script, nothing else,
// so its hash (the kit's rebuild trigger) changes exactly when the agent does.
rmSync('dist/image', { recursive: true, force: true });
mkdirSync('dist/image', { recursive: true });
copyFileSync('node-agent/Dockerfile', 'dist/image/Dockerfile');
// No code cache: the image makes its own for the Node.js it has (the Dockerfile), and a cache is not
// the same bytes from one build to the next, which would make every build a new image.
for (const f of ['muster.js', 'muster-core.js', 'vendor-etcd3.js']) copyFileSync(`dist/${f}`, `dist/image/${f}`);
copyFileSync('node-agent/code-cache.mjs', 'dist/image/code-cache.mjs');
writeFileSync('dist/image/muster', readFileSync('node-agent/docker/muster', 'utf8').replace('__NODE_FLAGS__', NODE_FLAGS));
chmodSync('dist/image/muster', 0o755);
for (const f of ['muster-health.sh', 'muster-health.bash']) {
  copyFileSync(`node-agent/docker/${f}`, `dist/image/${f}`);
  chmodSync(`dist/image/${f}`, 0o755);
}
