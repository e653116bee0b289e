import { Decoder, Encoder } from '@msgpack/msgpack';
import net from 'node:net';

/**
 * A minimal client of Serf's RPC protocol (msgpack over TCP: a header map, then a body): the
 * handshake and `members`, which is all the benchmark needs to read a node's member list.
 */
export class SerfRpc {
  private seq = 0;
  private readonly enc = new Encoder();
  private buf = Buffer.alloc(0);
  private readonly waiters: ((v: unknown) => void)[] = [];

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.drain();
    });
    socket.on('error', () => undefined);
  }

  static connect(host: string, port: number): Promise<SerfRpc> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port }, async () => {
        const c = new SerfRpc(s);
        try {
          await c.call('handshake', { Version: 1 }, false);
          resolve(c);
        } catch (e) {
          reject(e);
        }
      });
      s.once('error', reject);
    });
  }

  /** Decodes as many complete msgpack values as the buffer holds. */
  private drain(): void {
    for (;;) {
      if (!this.buf.length || !this.waiters.length) return;
      const d = new Decoder();
      let value: unknown;
      let used = 0;
      try {
        const it = d.decodeMulti(this.buf)[Symbol.iterator]();
        const r = it.next();
        if (r.done) return;
        value = r.value;
        used = (d as unknown as { pos: number }).pos;
      } catch {
        return; // incomplete: wait for more bytes
      }
      this.buf = this.buf.subarray(used);
      this.waiters.shift()!(value);
    }
  }

  private next(): Promise<unknown> {
    return new Promise((r) => {
      this.waiters.push(r);
      this.drain();
    });
  }

  async call(command: string, body?: unknown, hasResponseBody = true): Promise<unknown> {
    const seq = this.seq++;
    this.socket.write(this.enc.encode({ Command: command, Seq: seq }));
    if (body !== undefined) this.socket.write(this.enc.encode(body));
    const header = (await this.next()) as { Error?: string };
    if (header.Error) throw new Error(`serf rpc ${command}: ${header.Error}`);
    return hasResponseBody ? this.next() : undefined;
  }

  async members(): Promise<{ Name: string; Status: string }[]> {
    return ((await this.call('members')) as { Members: { Name: string; Status: string }[] }).Members;
  }

  close(): void {
    this.socket.destroy();
  }
}
