// Bundles the agent and ctl into one file that runs with plain `node` (the node image needs nothing else).
import { build } from 'esbuild';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

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
 * How `node` runs the agent, in the bundle's shebang (the one launcher: the image's `muster`
 * wrapper execs the bundle, and so do the tests and the bench). Lite mode (V8's interpreter only,
 * feedback allocated lazily) because an agent's work comes in short bursts (a formation, a crash)
 * where optimising compilation costs more than it returns: measured on 30 agents forming on
 * 2 cores, 10.3-10.5 CPU-s instead of 12.2-13.5, and RSS 49 MB per agent instead of 58.
 * `--no-expose-wasm`: lite mode turns WebAssembly off anyway, and says so on stderr unless asked.
 */
const NODE_FLAGS = '--lite-mode --no-expose-wasm';

const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: 'linked', logLevel: 'warning' };

await build({
  ...common,
  entryPoints: ['node-agent/src/main.ts'],
  outfile: 'dist/muster.js',
  // V8 keeps the source of every script in memory for its life: minified (function and class
  // names kept for stack traces, muster.js.map beside it for the rest), 0.3 MB less per agent.
  minify: true,
  keepNames: true,
  banner: { js: `#!/usr/bin/env -S node ${NODE_FLAGS}` },
  plugins: [etcd3Vendored],
  define: { MUSTER_VERSION: JSON.stringify(JSON.parse(readFileSync('package.json', 'utf8')).version) },
});

// The etcd client (gRPC, protobuf: half the code) goes into a file of its own next to the bundle,
// loaded only by nodes that use etcd discovery: every other node reads, compiles and keeps in
// memory that much less (about 3 MB of RSS per agent).
await build({
  ...common,
  stdin: { contents: "module.exports = require('etcd3');", resolveDir: process.cwd(), sourcefile: 'vendor-etcd3.js' },
  outfile: 'dist/vendor-etcd3.js',
  plugins: [etcd3Protos],
});
chmodSync('dist/muster.js', 0o755);

// The node image's build context: the Dockerfile, the bundle, its etcd file and the `muster` wrapper, nothing else,
// so its hash (the kit's rebuild trigger) changes exactly when the agent does.
rmSync('dist/image', { recursive: true, force: true });
mkdirSync('dist/image', { recursive: true });
copyFileSync('node-agent/Dockerfile', 'dist/image/Dockerfile');
copyFileSync('dist/muster.js', 'dist/image/muster.js');
copyFileSync('dist/vendor-etcd3.js', 'dist/image/vendor-etcd3.js');
copyFileSync('node-agent/docker/muster', 'dist/image/muster');
chmodSync('dist/image/muster', 0o755);
