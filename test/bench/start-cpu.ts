import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MUSTER } from '../support/agents';
import { stats } from './stats';

const PRELOAD = path.join(__dirname, 'cpu-at-listen.cjs');

/** CPU ms a process spent from exec to its first listening socket (cpu-at-listen.cjs, preloaded through NODE_OPTIONS). */
function cpuToListen(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: { ...env, PATH: process.env.PATH, NODE_OPTIONS: `--require=${PRELOAD}` }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 20_000);
    p.on('exit', () => {
      clearTimeout(timer);
      const m = /cpu-at-listen ([\d.]+)/.exec(err);
      if (m) resolve(Number(m[1]));
      else reject(new Error(`${cmd} ended without listening: ${err.slice(0, 300)}`));
    });
  });
}

/**
 * The agent's CPU from exec to listening (the cluster port, with manual discovery) and bare
 * `node`'s to open one listening socket, interleaved `count` times each so the machine's drift
 * falls on both; each figure is the median of its runs.
 */
export async function startCpuRound(count: number, host: string): Promise<{ agent: number; bare: number }> {
  const agent: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < count; i++) {
    bare.push(await cpuToListen(process.execPath, ['-e', `require('net').createServer().listen(4370, '${host}')`], {}));
    const dir = mkdtempSync(path.join(tmpdir(), 'muster-start-cpu-'));
    try {
      agent.push(await cpuToListen(MUSTER, ['agent'], { MUSTER_NODE__NAME: `muster@${host}`, MUSTER_NODE__DATA_DIR: dir, MUSTER_NODE__COOKIE: 'bench-cookie-long-enough' }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { agent: stats(agent).median, bare: stats(bare).median };
}
