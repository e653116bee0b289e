import { spawn, type ChildProcess } from 'node:child_process';

/** A server process this test started; stopped by its PID, never by name. */
export class ServerProcess {
  output = '';
  private proc?: ChildProcess;

  constructor(readonly label: string, readonly cmd: string, readonly args: string[], readonly env: NodeJS.ProcessEnv = process.env) {}

  start(): void {
    const p = spawn(this.cmd, this.args, { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    p.on('error', (e) => (this.output += `\nspawn error: ${e.message}`));
    this.proc = p;
  }

  get running(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.proc!.kill(sig);
  }

  async stop(sig: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.proc;
    if (!p || !this.running) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill(sig);
    await exited;
  }
}
