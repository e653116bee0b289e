import { systemClock, type Clock } from './clock';
import { systemNetwork, type Network } from './network';
import { systemRandom, type Random } from './random';
import { fileDisk, type StateDisk } from '../store/state-file';

/**
 * What an agent takes from the world outside its own code: time, the network, the disk holding its
 * state and randomness. The agent runs on the system's; the simulator (test/sim) gives each node
 * virtual ones, so the real membership code runs many nodes in one process, seeded and replayable.
 */
export interface Runtime {
  clock: Clock;
  net: Network;
  disk: StateDisk;
  random: Random;
}

export const systemRuntime: Runtime = { clock: systemClock, net: systemNetwork, disk: fileDisk, random: systemRandom };

export type { Clock, Timer } from './clock';
export type { Network, StreamSocket } from './network';
export type { Random } from './random';
export type { StateDisk } from '../store/state-file';
