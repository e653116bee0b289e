import { isIPv4, isIPv6 } from 'node:net';

/**
 * 4 or 6 for an IP address literal, 0 for anything else (`net.isIP`'s answer). Tells IPv6 by its
 * colon before asking `isIPv6`, whose pattern V8 compiles the first time it runs: 8-13 ms of an
 * agent's start in lite mode, spent otherwise on every node named by an IPv4 address (a node named
 * by a host name pays it anyway: node:dns asks `isIP` before each lookup). Same answers as `isIP`:
 * every IPv6 form has a colon, no IPv4 form has one.
 */
export function ipFamily(host: string): 0 | 4 | 6 {
  if (host.includes(':')) return isIPv6(host) ? 6 : 0;
  return isIPv4(host) ? 4 : 0;
}
