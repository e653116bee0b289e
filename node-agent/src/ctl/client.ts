import { hostname } from 'node:os';
import { silentLogger } from '../log';
import { parseNodeName } from '../config/node-name';
import { HostResolver, type Family } from '../transport/address';
import { Connection } from '../transport/connection';
import type { Op } from '../transport/messages';
import type { TlsMaterial } from '../transport/tls';
import { DEFAULT_TUNING } from '../tuning';

export interface CtlTarget {
  node: string;
  cookie: string;
  port: number;
  family: Family;
  dnsServers?: string[];
  /** The node's own TLS material: ctl connects the way the node does. */
  tls?: TlsMaterial;
}

/** Opens an authenticated ctl connection to the node, the same handshake nodes use. */
export async function callNode(target: CtlTarget, op: Op, body: unknown, timeoutMs = DEFAULT_TUNING.ctl.requestTimeoutMs): Promise<unknown> {
  const host = await new HostResolver(target.family, target.dnsServers).resolve(parseNodeName(target.node).host);
  const conn = await Connection.dial({
    host,
    port: target.port,
    role: 'ctl',
    expectedPeer: target.node,
    tls: target.tls,
    localName: `ctl-${process.pid}@${hostname()}`,
    cookie: target.cookie,
    boot: 'ctl',
    log: silentLogger(),
  });
  try {
    return await conn.request(op, body, timeoutMs);
  } finally {
    conn.close('done');
  }
}
