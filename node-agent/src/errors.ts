/**
 * Why an operation with a peer or a node failed, as a code a caller can act on (and the ctl maps
 * to an exit code). Codes cross the wire in a `res` frame; one this agent does not know (a newer
 * peer) arrives as `failed`.
 */
export const ERROR_CODES = [
  // The handshake (also the reject frame's codes).
  'bad_cookie',
  'wrong_node',
  'wrong_cluster',
  'protocol',
  'duplicate',
  'not_member',
  'partitioned',
  // A core that carries as many replicants as it takes (tuning.roles.maxReplicantLinks).
  'full',
  'tls',
  // Reaching a peer.
  'unreachable',
  'timeout',
  'closed',
  // A request's answer.
  'bad_request',
  'busy',
  'refused',
  // A join offered with a probe that the member does not take: its cluster does not rank first.
  'declined',
  'other_cluster',
  'already_member',
  'not_in_cluster',
  'unknown_node',
  'not_found',
  'not_ready',
  // A replicant with no core to hand a write to.
  'no_core',
  // This node could not save a change (a full or failing disk): not acknowledged.
  'disk',
  // Configuration found wrong at run time (exit 2).
  'config',
  'failed',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && (ERROR_CODES as readonly string[]).includes(code);
}

/** The one error type of peer operations, with a typed code. */
export class PeerError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The system's error code behind an `unreachable` dial (ECONNREFUSED: nothing listens there now). */
    readonly errno?: string,
  ) {
    super(message);
  }
}
