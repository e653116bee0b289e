import { spawn, type ChildProcess } from 'node:child_process';
import { NetLab } from '../support/netlab';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// A process that dials host:5000 every `every` ms (each attempt given `timeout` ms) and prints
// "<epoch ms> true|false" whenever the outcome changes.
const DIALER = `const net = require('net'); let last;
const report = (ok) => { if (ok !== last) { last = ok; console.log(Date.now(), ok); } };
setInterval(() => {
  const s = net.connect({ host: process.argv[1], port: 5000 });
  const t = setTimeout(() => { s.destroy(); report(false); }, Number(process.argv[2]));
  s.on('connect', () => { clearTimeout(t); s.destroy(); report(true); });
  s.on('error', () => { clearTimeout(t); report(false); });
}, Number(process.argv[3]));`;
const LISTENER = "require('net').createServer((s) => s.destroy()).listen(5000)";

/**
 * The network's own part of a partition heal, in the same lab and with the same cut as the bench's
 * heal (N hosts, the last one's link down for `downMs`, then up): how long after the link returns a
 * fresh TCP connect from the first host to the last succeeds, with both hosts dialling each other
 * throughout as cluster members do. A host that kept sending into the cut has given up on its
 * neighbour's address (ARP), and answers a SYN only once it has resolved it again: no system
 * whose packets cross this network heals faster than this.
 */
export async function tcpHealFloor(n: number, downMs: number): Promise<number> {
  const lab = new NetLab();
  const procs: ChildProcess[] = [];
  const run = (i: number, script: string, ...args: string[]) => {
    const p = spawn('ip', ['netns', 'exec', lab.netns(i), process.execPath, '-e', script, ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    procs.push(p);
    return p;
  };
  try {
    lab.setup(n);
    const last = n - 1;
    run(0, LISTENER);
    run(last, LISTENER);
    run(last, DIALER, lab.address(0), '1000', '200');
    const events: Array<{ at: number; ok: boolean }> = [];
    run(0, DIALER, lab.address(last), '100', '10').stdout!.on('data', (d: Buffer) => {
      for (const line of d.toString().trim().split('\n')) {
        const [at, ok] = line.split(' ');
        events.push({ at: Number(at), ok: ok === 'true' });
      }
    });
    const deadline = Date.now() + 10_000;
    while (!events.some((e) => e.ok)) {
      if (Date.now() > deadline) throw new Error('the heal floor dialer never connected');
      await sleep(50);
    }
    lab.link(last, false);
    await sleep(downMs);
    const t0 = Date.now();
    lab.link(last, true);
    while (!events.some((e) => e.ok && e.at >= t0)) {
      if (Date.now() - t0 > 30_000) throw new Error('no connect within 30 s of the link returning');
      await sleep(20);
    }
    return events.find((e) => e.ok && e.at >= t0)!.at - t0;
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    lab.close();
  }
}
