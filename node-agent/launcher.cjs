'use strict';
// `muster`: runs the agent and ctl bundle (muster-core.js, beside this file) with V8's code cache
// for it, when one was made for this very bundle (node-agent/code-cache.mjs, at build time and in
// the image). An agent otherwise compiles the bundle at every start, and each function again the
// first time it runs: about 40 of its 170 ms of CPU to listening, and the first handshake and join
// after it, which on a machine starting many nodes at once all wait for the CPU.
//
// V8 checks a cache against the source's length only, so the cache's name carries a hash of the
// bundle (filled in by node-agent/build.mjs): a cache made for another bundle is never read. A
// cache V8 refuses (another Node.js, other flags) only costs the compile it would have saved.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

const file = path.join(__dirname, 'muster-core.js');
const cacheFile = path.join(__dirname, `muster-core.${'__CORE_HASH__'}.cache`);
// Set by code-cache.mjs only, and consumed here: the agent's own config never sees it.
const cacheOut = process.env.MUSTER_CODE_CACHE_OUT;
delete process.env.MUSTER_CODE_CACHE_OUT;

let cachedData;
try {
  cachedData = fs.readFileSync(cacheFile);
} catch {
  // No cache (not made, or made for another bundle): compile as usual.
}
let source;
try {
  source = fs.readFileSync(file, 'utf8');
} catch (e) {
  console.error(`muster: cannot read its bundle ${file} (${e.code}): install it beside ${__filename} (npm run build writes both to dist/)`);
  process.exit(1);
}
const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
// Compiled: V8 keeps what it needs. The cache's bytes (0.5 MB outside the heap) and this copy of the
// source would otherwise stay reachable from this module for the life of the agent (0.9 MB of RSS).
cachedData = undefined;
source = undefined;
if (cacheOut) {
  // Written at exit, so it holds every function the run compiled, not only the top level.
  process.once('exit', () => fs.writeFileSync(cacheOut, script.createCachedData()));
}
const core = new Module(file, module);
core.filename = file;
script.runInThisContext().call(core.exports, core.exports, Module.createRequire(file), core, file, __dirname);
