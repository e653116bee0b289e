import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Cookie proof: each side shows it holds the cookie by an HMAC-SHA256 over both fresh nonces
 * and both node names, so the cookie never crosses the wire and a recorded proof cannot be
 * replayed to another connection or another pair of nodes.
 */
export type Side = 'client' | 'server';

export interface HandshakeParams {
  clientName: string;
  serverName: string;
  clientNonce: string;
  serverNonce: string;
}

export function newNonce(): string {
  return randomBytes(32).toString('base64');
}

export function computeProof(cookie: string, side: Side, p: HandshakeParams): string {
  return createHmac('sha256', cookie)
    .update(['muster/1', side, p.clientNonce, p.serverNonce, p.clientName, p.serverName].join('\n'))
    .digest('hex');
}

export function verifyProof(cookie: string, side: Side, p: HandshakeParams, proof: string): boolean {
  const expected = Buffer.from(computeProof(cookie, side, p), 'hex');
  const got = Buffer.from(proof, 'hex');
  return got.length === expected.length && timingSafeEqual(got, expected);
}
