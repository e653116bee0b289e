import type { z } from 'zod/v3';
import { PeerError } from '../errors';

/** An answer checked against its schema; a malformed one fails the request like a refusal. */
export function parseReply<S extends z.ZodTypeAny>(schema: S, reply: unknown, op: string, from: string): z.infer<S> {
  const parsed = schema.safeParse(reply);
  if (!parsed.success) throw new PeerError('protocol', `malformed '${op}' answer from ${from}`);
  return parsed.data;
}
