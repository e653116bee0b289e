import { encodeFrame, HANDSHAKE_FRAME_LIMIT } from './frame';
import { computeProof, newNonce, verifyProof, type HandshakeParams } from './handshake';
import { isTlsSocket, peerCertProblem } from './tls';
import { authSchema, challengeSchema, helloSchema, welcomeSchema } from './messages';
import { PeerError } from '../errors';
import { sleep } from '../runtime/clock';
import type { CommonOptions, Connection, DialOptions } from './connection';

/**
 * The cookie handshake of a connection (connection.ts), both sides: each proves the cookie without
 * sending it (handshake.ts), the names and cluster names are checked, and the session starts. A
 * failure is a PeerError saying why, after a `reject` telling the peer where that helps it.
 */

/** Why two cluster names do not go together, or undefined (a ctl, or a peer too old to say its name). */
function otherCluster(mine: string | undefined, theirs: string | undefined): string | undefined {
  if (mine === undefined || theirs === undefined || mine === theirs) return undefined;
  return 'cluster.name must be the same on every node of a cluster (they share a cookie, but are different clusters)';
}

/** The dialing side: hello, the server's challenge, auth, the welcome; the peer's name and boot learned on the way. */
export async function clientHandshake(c: Connection, opts: DialOptions): Promise<void> {
  const clientNonce = newNonce();
  const sentAt = c.clock.now();
  c.send({ t: 'hello', role: opts.role, name: opts.localName, nonce: clientNonce, boot: opts.boot, cluster: opts.role === 'ctl' ? undefined : opts.clusterName });
  const challenge = await c.expect(challengeSchema, opts.handshakeTimeoutMs);
  c.noteRtt(c.clock.now() - sentAt);
  if (opts.expectedPeer && challenge.name !== opts.expectedPeer) {
    c.sendReject('wrong_node', `expected ${opts.expectedPeer}, reached ${challenge.name}`);
    throw new PeerError('wrong_node', `${opts.host}:${opts.port} is ${challenge.name}, not ${opts.expectedPeer}`);
  }
  c.peerName = challenge.name;
  c.peerBoot = challenge.boot;
  const params: HandshakeParams = { clientName: opts.localName, serverName: challenge.name, clientNonce, serverNonce: challenge.nonce };
  c.send({ t: 'auth', proof: computeProof(opts.cookie, 'client', params) });
  opts.afterAuth?.(c);
  const welcome = await c.expect(welcomeSchema, opts.handshakeTimeoutMs);
  if (!verifyProof(opts.cookie, 'server', params, welcome.proof)) {
    c.sendReject('bad_cookie', 'your cookie proof does not match this node\'s cookie');
    throw new PeerError('bad_cookie', `${challenge.name} (${c.remote}) does not hold our cookie`);
  }
  const other = otherCluster(opts.role === 'ctl' ? undefined : opts.clusterName, challenge.cluster);
  if (other) {
    c.sendReject('wrong_cluster', `${opts.localName} is in cluster '${opts.clusterName}', ${challenge.name} in '${challenge.cluster}': ${other}`);
    throw new PeerError('wrong_cluster', `${challenge.name} is in cluster '${challenge.cluster}', this node in '${opts.clusterName}': ${other}`);
  }
  c.infoInWelcome = welcome.info;
  c.startSession();
}

/** The accepting side: hello, TLS and self checks, the guard's delay, challenge, auth, the welcome (with what `welcomeInfo` gives). */
export async function serverHandshake(c: Connection, opts: CommonOptions): Promise<void> {
  const hello = await c.expect(helloSchema, opts.handshakeTimeoutMs);
  c.peerName = hello.name;
  c.peerBoot = hello.boot;
  c.role = hello.role;
  if (isTlsSocket(c.socket)) {
    // The certificate must come from the cluster CA and, for nodes, name the host of the node name claimed.
    const host = hello.role === 'ctl' ? undefined : hello.name.slice(hello.name.indexOf('@') + 1);
    const problem = peerCertProblem(c.socket, host);
    if (problem) {
      c.sendReject('protocol', `the TLS certificate of ${hello.name} is refused by ${opts.localName}: ${problem}`);
      throw new PeerError('tls', `TLS certificate of ${hello.name} refused: ${problem}`);
    }
  }
  if (hello.role !== 'ctl' && hello.name === opts.localName) {
    c.sendReject('protocol', 'a node cannot connect to itself');
    throw new PeerError('protocol', `peer claims this node's own name ${hello.name}`);
  }
  // A source that failed cookie proofs waits before it is challenged (transport/handshake-guard.ts).
  const wait = opts.guard?.delayMs(c.socket.remoteAddress ?? c.remote) ?? 0;
  if (wait) {
    await sleep(c.clock, wait);
    if (c.isClosed) throw new PeerError('closed', 'closed by the client while it was slowed after failed cookie proofs');
  }
  const serverNonce = newNonce();
  const challengedAt = c.clock.now();
  c.send({ t: 'challenge', name: opts.localName, nonce: serverNonce, boot: opts.boot, cluster: opts.clusterName });
  const auth = await c.expect(authSchema, opts.handshakeTimeoutMs);
  c.noteRtt(c.clock.now() - challengedAt);
  const params: HandshakeParams = { clientName: hello.name, serverName: opts.localName, clientNonce: hello.nonce, serverNonce };
  if (!verifyProof(opts.cookie, 'client', params, auth.proof)) {
    c.sendReject('bad_cookie', 'cookie proof does not match this node\'s cookie');
    throw new PeerError('bad_cookie', `${hello.name} failed the cookie check (wrong cookie)`);
  }
  const other = otherCluster(hello.role === 'ctl' ? undefined : opts.clusterName, hello.cluster);
  if (other) {
    c.sendReject('wrong_cluster', `${opts.localName} is in cluster '${opts.clusterName}', ${hello.name} in '${hello.cluster}': ${other}`);
    throw new PeerError('wrong_cluster', `${hello.name} is in cluster '${hello.cluster}', this node in '${opts.clusterName}': ${other}`);
  }
  const welcome = { t: 'welcome', proof: computeProof(opts.cookie, 'server', params), info: opts.welcomeInfo?.(hello.role, hello.name) };
  let frame = encodeFrame(welcome);
  // The client reads the welcome under the handshake limit: a member list too long for it (about
  // 400 members with short names) is left out, and the client asks with 'info' once the session is up.
  if (frame.length - 4 > HANDSHAKE_FRAME_LIMIT) frame = encodeFrame({ ...welcome, info: undefined });
  c.sendFrame(frame, 'handshake');
  c.startSession();
}
