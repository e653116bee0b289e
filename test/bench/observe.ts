import type { BenchCluster } from './clusters';

/** How the bench observes a cluster: every node on its own schedule, through the system's own protocol. */

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The moment the last observer is seen to hold `pred` on its alive list. Each observer is asked
 * through the system's own protocol on a schedule of its own, every 50 ms, or every 2N ms from
 * N = 25 up (asking 100 nodes every 50 ms is 2000 requests a second, enough load on 2 cores to slow
 * what is measured). Observers are not asked in lockstep rounds: one slow answer would hold back
 * every other observer's next question (a round took 0.9 s at N = 100 right after a SIGKILL, while
 * the agents' logs showed every node knew within 0.67 s). Each is asked from the moment it listens:
 * until 9c5bb6f the bench waited for every Muster node to listen before asking any, and saw a
 * formation 0.1-0.3 s after it happened (Serf's nodes were asked as soon as the last listened).
 *
 * An observer's moment is the midpoint between the last question it answered "not yet" (when that
 * was sent: the node answered after) and the first it answered "yes" (when the answer came): the
 * change reached it in between. Results before 2026-11-26 13:30 UTC took the later end: every
 * figure of both systems was late by up to one interval, and the last of N observers by nearly a
 * whole one (60 ms at N = 30), a fixed offset that pulled every ratio to Serf towards 1. A question
 * that got no answer says nothing either way.
 */
export async function allSee(c: BenchCluster, observers: number[], pred: (alive: string[]) => boolean, limitMs: number, what: string): Promise<number> {
  const deadline = Date.now() + limitMs;
  const everyMs = Math.max(50, 2 * c.names.length);
  // What each observer that is not done saw last: said when the time runs out.
  const last = new Map<number, string>();
  const doneAt = await Promise.all(
    observers.map(async (i) => {
      // Asked from the moment it listens (at once, for a node that does).
      await c.listening(i);
      let notBefore = Date.now();
      while (Date.now() <= deadline) {
        const asked = Date.now();
        try {
          const alive = await c.alive(i);
          if (pred(alive)) return (notBefore + Date.now()) / 2;
          last.set(i, `${alive.length} alive`);
          notBefore = asked;
        } catch (e) {
          last.set(i, `no answer (${(e as Error).message})`);
        }
        await sleep(everyMs);
      }
      return undefined;
    }),
  );
  const waiting = observers.filter((_, k) => doneAt[k] === undefined);
  if (waiting.length) {
    const saw = waiting.map((i) => `${c.names[i]}: ${last.get(i) ?? 'not asked'}`);
    throw new Error(`timed out: ${what}; ${observers.length - waiting.length}/${observers.length} done, the others saw: ${saw.slice(0, 10).join('; ')}${saw.length > 10 ? '; …' : ''}`);
  }
  return Math.max(...(doneAt as number[]));
}

/** Cold-start formation of a just-launched cluster, counted from the launch and from the last listener. */
export async function formation(c: BenchCluster, limitMs: number, suffix: string, add: (f: string, v: number, unit?: string) => void): Promise<void> {
  const n = c.names.length;
  const formed = await allSee(c, [...c.names.keys()], (a) => a.length === n, limitMs, `${c.system} ${n} formation${suffix}`);
  const listeners = await c.listenersAt();
  add(`formation from launch${suffix}`, formed - c.launchedAt);
  add(`formation from last listener${suffix}`, formed - Math.max(...listeners));
}

