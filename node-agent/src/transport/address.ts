import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { PeerError } from './connection';

export type Family = 4 | 6;

/** The address to connect to or listen on for a node's host part. */
export async function resolveHost(host: string, family: Family): Promise<string> {
  const literal = isIP(host);
  if (literal) {
    if (literal !== family) throw new PeerError('unreachable', `${host} is an IPv${literal} address but cluster.proto_dist uses IPv${family}`);
    return host;
  }
  try {
    const { address } = await lookup(host, { family });
    return address;
  } catch (e) {
    throw new PeerError('unreachable', `cannot resolve ${host} (IPv${family}): ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}
