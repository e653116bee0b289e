// `npm run demo`: a 3-node cluster of local agent processes on 127.0.0.2-4, formed with
// `muster ctl cluster join`, its status printed, then stopped. No Docker needed.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const muster = path.resolve('dist/muster.js');
const dir = mkdtempSync(path.join(tmpdir(), 'muster-demo-'));
const cookie = `demo-${process.pid}`;
const names = ['muster@127.0.0.2', 'muster@127.0.0.3', 'muster@127.0.0.4'];
const env = (name) => ({ ...process.env, MUSTER_NODE__NAME: name, MUSTER_NODE__COOKIE: cookie, MUSTER_NODE__DATA_DIR: path.join(dir, name) });
const procs = [];

function ctl(name, ...args) {
  console.log(`$ muster ctl ${args.join(' ')}    # on ${name}`);
  const out = execFileSync(muster, ['ctl', ...args], { env: env(name), encoding: 'utf8' });
  console.log(out.trimEnd());
}

function start(name) {
  return new Promise((resolve, reject) => {
    const p = spawn(muster, ['agent'], { env: env(name), stdio: ['ignore', 'pipe', 'inherit'] });
    procs.push(p);
    let buf = '';
    p.stdout.on('data', (d) => {
      buf += d;
      if (buf.includes('"msg":"listening on')) resolve();
    });
    p.on('exit', (code) => reject(new Error(`${name} exited with code ${code} before listening`)));
  });
}

try {
  await Promise.all(names.map(start));
  console.log(`started ${names.join(', ')} (logs are JSON lines; data in ${dir})\n`);
  ctl(names[1], 'cluster', 'join', names[0]);
  ctl(names[2], 'cluster', 'join', names[0]);
  ctl(names[0], 'data', 'put', 'greeting', 'hello');
  ctl(names[2], 'data', 'get', 'greeting');
  ctl(names[1], 'cluster', 'status');
} finally {
  for (const p of procs) p.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  rmSync(dir, { recursive: true, force: true });
}
