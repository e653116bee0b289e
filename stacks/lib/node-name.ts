import { isIPv4, isIPv6 } from 'node:net';

/**
 * The agent's documented rule for `node.name` (README, "Configuration"), checked at synth time so
 * a bad name fails `cdktf synth`, not a container at boot.
 */
export const NODE_NAME_RULE =
  "must be name@host: name is letters, digits, '_' or '-'; host is an IPv4 address, an IPv6 address or a fully qualified domain name";

const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

export function isFqdn(host: string): boolean {
  const labels = host.replace(/\.$/, '').split('.');
  return host.length <= 253 && labels.length >= 2 && !/^\d+$/.test(labels[labels.length - 1]) && labels.every((l) => LABEL.test(l));
}

export function nodeNameProblem(name: string): string | undefined {
  const m = /^([A-Za-z0-9_-]+)@([^@]+)$/.exec(name);
  if (!m || !(isIPv4(m[2]) || isIPv6(m[2]) || isFqdn(m[2]))) return `'${name}' ${NODE_NAME_RULE}`;
  return undefined;
}

export function splitNodeName(name: string): { name: string; host: string } {
  const at = name.indexOf('@');
  return { name: name.slice(0, at), host: name.slice(at + 1) };
}
