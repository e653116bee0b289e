import { DEFAULT_HTTP_PORT, type AgentSettings } from '../../node-agent/src/contract';

/** Where a node's read-only HTTP listener answers (`/status`, `/metrics`), from its agent settings. */
export interface HttpEndpoint {
  readonly port: number;
  readonly scheme: 'http' | 'https';
}

/**
 * The node's HTTP listener as its settings make it (`http.enable`, `http.port`, `http.tls`, the
 * agent's defaults otherwise), or undefined when nothing outside the node reaches it: off, or bound
 * to loopback (then only the image's healthcheck, inside the node, asks it). The values have passed
 * the agent's own loader at synth (addCheck), so they are read as that loader reads them.
 */
export function httpEndpointOf(settings: AgentSettings): HttpEndpoint | undefined {
  const flag = (v: unknown) => v === true || v === 'true';
  const enable = settings['http.enable'];
  if (enable !== undefined && !flag(enable)) return undefined;
  const bind = String(settings['http.bind'] ?? '');
  if (bind === '::1' || bind.startsWith('127.')) return undefined;
  const port = settings['http.port'] === undefined ? DEFAULT_HTTP_PORT : Number(settings['http.port']);
  return { port, scheme: flag(settings['http.tls']) ? 'https' : 'http' };
}
