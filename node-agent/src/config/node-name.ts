import { ipFamily } from './ip-family';

/** The rule every node name follows, spelled out in errors. */
export const NODE_NAME_RULE =
  "must be name@host: name is letters, digits, '_' or '-'; host is an IPv4 address, an IPv6 address or a fully qualified domain name (e.g. muster@10.0.0.2, muster@node1.example.com)";

export interface NodeName {
  /** The part before '@'. */
  readonly name: string;
  /** The host part: where the node listens and is reached. */
  readonly host: string;
}

/** The name part before '@', at most this long (the host part is bounded by DNS, 253). */
export const MAX_NAME_PART = 64;

const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

export function isFqdn(host: string): boolean {
  const h = host.endsWith('.') ? host.slice(0, -1) : host;
  if (h.length === 0 || h.length > 253) return false;
  const labels = h.split('.');
  // A single label (e.g. "localhost") is not fully qualified; an all-numeric last label is a mistyped IP.
  if (labels.length < 2 || /^\d+$/.test(labels[labels.length - 1])) return false;
  return labels.every((l) => LABEL.test(l));
}

/** Why `text` is not a valid node name, or undefined when it is. */
export function nodeNameProblem(text: string): string | undefined {
  const at = text.indexOf('@');
  if (at > MAX_NAME_PART) return `'${text.slice(0, 40)}...' has a name part of ${at} characters: at most ${MAX_NAME_PART} (the host part may be a full 253-character domain name)`;
  if (at < 0 || text.indexOf('@', at + 1) >= 0) return `'${text}' ${NODE_NAME_RULE}`;
  const name = text.slice(0, at);
  const host = text.slice(at + 1);
  if (!/^[A-Za-z0-9_-]+$/.test(name)) return `'${text}' has an invalid name part '${name}': ${NODE_NAME_RULE}`;
  if (!(ipFamily(host) || isFqdn(host))) return `'${text}' has an invalid host part '${host}': ${NODE_NAME_RULE}`;
  return undefined;
}

/** Splits a node name that was already validated. */
export function parseNodeName(text: string): NodeName {
  const at = text.indexOf('@');
  return { name: text.slice(0, at), host: text.slice(at + 1) };
}
