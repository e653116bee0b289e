import net from 'node:net';

/**
 * The byte stream a Connection runs on: what it uses of node:net's Socket (a TLS socket is one
 * too). The simulator's in-memory links implement the same, with the same events: 'connect',
 * 'data', 'error' (with an errno code), 'close'.
 */
export interface StreamSocket {
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  readonly writableEnded: boolean;
  setNoDelay(noDelay: boolean): unknown;
  write(chunk: Buffer): boolean;
  end(chunk?: Buffer | (() => void), cb?: () => void): unknown;
  destroy(): unknown;
  on(event: string, listener: (...args: any[]) => void): unknown;
  once(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener: (...args: any[]) => void): unknown;
}

export interface ConnectOptions {
  host: string;
  port: number;
  /** Source address: nodes connect from the address they listen on. */
  localAddress?: string;
}

/** How the agent opens connections; listening stays with the agent (agent.ts) or the simulator. */
export interface Network {
  /** Plain TCP here; `tls` marks the system network, the only one TLS can run over. */
  readonly tls: boolean;
  connect(opts: ConnectOptions): StreamSocket;
}

export const systemNetwork: Network = {
  tls: true,
  connect: (opts) => net.connect({ host: opts.host, port: opts.port, localAddress: opts.localAddress }),
};
