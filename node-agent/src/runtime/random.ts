import { randomBytes } from 'node:crypto';

/**
 * The randomness that decides what the agent does (jitter, cluster and boot ids, gossip ids). The
 * simulator seeds it, so a run replays exactly. Handshake nonces stay with node:crypto: they never
 * change what happens, only whether a proof is fresh.
 */
export interface Random {
  /** Uniform in [0, 1). */
  fraction(): number;
  /** `bytes` random bytes as hex. */
  hex(bytes: number): string;
}

export const systemRandom: Random = {
  fraction: () => Math.random(),
  hex: (bytes) => randomBytes(bytes).toString('hex'),
};

/**
 * A seeded generator (mulberry32: 32 bits of state, passes the tests that matter for jitter and
 * ids, and is a few lines); the same seed gives the same sequence on every machine.
 */
export function seededRandom(seed: number): Random {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    fraction: next,
    hex: (bytes) => {
      let out = '';
      for (let i = 0; i < bytes; i++) out += Math.floor(next() * 256).toString(16).padStart(2, '0');
      return out;
    },
  };
}
