#!/usr/bin/env node
// The test tiers, by what a test needs (`node test/tiers.mjs <tier>` prints its files):
//   unit      no agent processes, no servers, no root (the kit, the agent's pure modules, the
//             simulator); the kit's tests need the build (its image context is dist/image)
//   loopback  agent and ctl processes (dist/muster.js) on 127.0.x.y, no servers
//   servers   real etcd, BIND 9, Docker, Serf (everything else)
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const UNIT = [
  'test/sim/',
  'test/kit/',
  'test/discovery/lookers.test.ts',
  ...['failure-policy', 'join-offer', 'lww-map', 'overlay', 'prober', 'readme-figures', 'replica', 'stall-watch', 'state-log', 'state-writer', 'sync-entries'].map((n) => `test/agent/${n}.test.ts`),
];
const LOOPBACK = ['test/agent/'];

function all(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? all(p) : p.endsWith('.test.ts') ? [p] : [];
  });
}

const inTier = (file, list) => list.some((p) => (p.endsWith('/') ? file.startsWith(p) : file === p));
const files = all('test').sort();
const tiers = {
  unit: files.filter((f) => inTier(f, UNIT)),
  loopback: files.filter((f) => !inTier(f, UNIT) && inTier(f, LOOPBACK)),
  servers: files.filter((f) => !inTier(f, UNIT) && !inTier(f, LOOPBACK)),
};
const tier = process.argv[2];
if (!(tier in tiers)) {
  process.stderr.write(`tiers.mjs: give one of ${Object.keys(tiers).join(', ')}, not '${tier ?? ''}'\n`);
  process.exit(2);
}
for (const f of UNIT) if (!files.some((x) => inTier(x, [f]))) {
  process.stderr.write(`tiers.mjs: ${f} names no test file\n`);
  process.exit(2);
}
console.log(tiers[tier].join('\n'));
