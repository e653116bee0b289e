/**
 * Framing: every message is `[u32 big-endian length][u8 protocol version][UTF-8 JSON]`,
 * where length counts the version byte and the JSON. Two limits: a small one until the peer has
 * proved the cookie (so a stranger cannot make us buffer much), a larger one afterwards.
 */
export const PROTOCOL_VERSION = 1;
export const HANDSHAKE_FRAME_LIMIT = 16 * 1024;
export const FRAME_LIMIT = 16 * 1024 * 1024;

export class FrameError extends Error {}

export function encodeFrame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  const out = Buffer.allocUnsafe(5 + body.length);
  out.writeUInt32BE(body.length + 1, 0);
  out.writeUInt8(PROTOCOL_VERSION, 4);
  body.copy(out, 5);
  return out;
}

/** Incremental decoder: feed socket chunks, get parsed JSON values; throws FrameError on bad input. */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);
  /** The size on the wire of each message the last push returned, in the same order. */
  readonly sizes: number[] = [];

  constructor(public limit: number) {}

  push(chunk: Buffer): unknown[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: unknown[] = [];
    this.sizes.length = 0;
    for (;;) {
      if (this.buf.length < 4) break;
      const len = this.buf.readUInt32BE(0);
      if (len === 0) throw new FrameError('empty frame');
      if (len > this.limit && this.buf[0] === 0x16 && this.buf[1] === 0x03) {
        throw new FrameError('peer started a TLS handshake on a plain-TCP port (cluster.proto_dist must be the same on every node)');
      }
      if (len > this.limit) throw new FrameError(`frame of ${len} bytes is over the limit of ${this.limit}`);
      if (this.buf.length < 4 + len) break;
      const version = this.buf.readUInt8(4);
      if (version !== PROTOCOL_VERSION) throw new FrameError(`unsupported protocol version ${version} (this node speaks ${PROTOCOL_VERSION})`);
      const body = this.buf.subarray(5, 4 + len).toString('utf8');
      this.buf = this.buf.subarray(4 + len);
      try {
        out.push(JSON.parse(body));
        this.sizes.push(4 + len);
      } catch {
        throw new FrameError('frame is not valid JSON');
      }
    }
    return out;
  }
}
