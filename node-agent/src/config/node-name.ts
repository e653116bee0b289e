import { isIPv4, isIPv6 } from 'node:net';

/** The rule every node name follows, spelled out in errors. */
export const NODE_NAME_RULE =
  "must be name@host: name is letters, digits, '_' or '-'; host is an IPv4 address, an IPv6 address or a fully qualified domain name (e.g. muster@10.0.0.2, muster@node1.example.com)";

export interface NodeName {
  /** The part before '@'. */
  readonly name: string;
  /** The host part: where the node listens and is reached. */
  readonly host: string;
}

/** At most this many bytes: a file name's limit on common file systems. */
export const MAX_NODE_NAME = 255;

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
  // The name is the data directory's name by default (data/<node name>): one path component, at most 255 bytes.
  if (Buffer.byteLength(text) > MAX_NODE_NAME) return `'${text.slice(0, 40)}...' is ${Buffer.byteLength(text)} bytes long: a node name is at most ${MAX_NODE_NAME} (it names the node's data directory)`;
  if (at < 0 || text.indexOf('@', at + 1) >= 0) return `'${text}' ${NODE_NAME_RULE}`;
  const name = text.slice(0, at);
  const host = text.slice(at + 1);
  if (!/^[A-Za-z0-9_-]+$/.test(name)) return `'${text}' has an invalid name part '${name}': ${NODE_NAME_RULE}`;
  if (!(isIPv4(host) || isIPv6(host) || isFqdn(host))) return `'${text}' has an invalid host part '${host}': ${NODE_NAME_RULE}`;
  return undefined;
}

/** Splits a node name that was already validated. */
export function parseNodeName(text: string): NodeName {
  const at = text.indexOf('@');
  return { name: text.slice(0, at), host: text.slice(at + 1) };
}
