/**
 * Time as the agent sees it: now, timers and "after this turn". The agent takes it from here, not
 * from the globals, so the simulator (test/sim) can run many nodes in one process on virtual time
 * and stop one node's time alone (a frozen process).
 */
export interface Timer {
  /** A timer that must not keep the process alive (Node.js's unref; nothing in virtual time). */
  unref(): Timer;
}

export interface Clock {
  /** Wall-clock milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  clearTimeout(timer: Timer | undefined): void;
  setInterval(fn: () => void, ms: number): Timer;
  clearInterval(timer: Timer | undefined): void;
  /** Runs `fn` once the current turn (its I/O callbacks and promise jobs) is over. */
  setImmediate(fn: () => void): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout | undefined),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (t) => clearInterval(t as NodeJS.Timeout | undefined),
  setImmediate: (fn) => void setImmediate(fn),
};

/** A promise that resolves after `ms` on `clock`. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}
