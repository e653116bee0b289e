import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { NetLab, type HostCut } from '../support/netlab';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// A process that dials host:5000 every `every` ms (each attempt given `timeout` ms) and prints
// "<epoch ms> true|false" whenever the outcome changes.
// Both end by themselves should the bench die without killing them (their parent becomes init).
const WATCHDOG = 'setInterval(() => { if (process.ppid === 1) process.exit(0); }, 500);';
const DIALER = `${WATCHDOG} const net = require('net'); let last;
const report = (ok) => { if (ok !== last) { last = ok; console.log(Date.now(), ok); } };
setInterval(() => {
  const s = net.connect({ host: process.argv[1], port: 5000 });
  const t = setTimeout(() => { s.destroy(); report(false); }, Number(process.argv[2]));
  s.on('connect', () => { clearTimeout(t); s.destroy(); report(true); });
  s.on('error', () => { clearTimeout(t); report(false); });
}, Number(process.argv[3]));`;
const LISTENER = `${WATCHDOG} require('net').createServer((s) => s.destroy()).listen(5000);`;

/**
 * The network's own part of a partition heal, in the same lab as the bench's heal (N hosts, the
 * last one cut off for `downMs`, by its link or by a split, then back): how long after that a fresh TCP connect
 * from the first host to the last succeeds (tried every 10 ms), with the last host dialling the
 * first every 200 ms throughout. A host that kept sending into the cut has given up on its
 * neighbour's address (ARP), and answers a SYN only once it has resolved it again.
 * A reference, not a bound: a system can hear of the heal sooner through a member other than the
 * one that was cut off, and its own cut lasts as long as its detection takes, not `downMs`.
 */
export async function tcpHealReference(n: number, downMs: number, cut: HostCut): Promise<number> {
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
    createInterface({ input: run(0, DIALER, lab.address(last), '100', '10').stdout! }).on('line', (line) => {
      const [at, ok] = line.split(' ');
      events.push({ at: Number(at), ok: ok === 'true' });
    });
    const deadline = Date.now() + 10_000;
    while (!events.some((e) => e.ok)) {
      if (Date.now() > deadline) throw new Error('the TCP reference dialer never connected');
      await sleep(50);
    }
    lab.isolate(last, cut, true);
    await sleep(downMs);
    const t0 = Date.now();
    lab.isolate(last, cut, false);
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
