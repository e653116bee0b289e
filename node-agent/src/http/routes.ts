import type { Registry } from 'prom-client';
import type { ClusterNode } from '../membership/cluster';
import { clusterView, nodesOf } from '../observe/cluster-view';
import { clusterPage, PAGE_SCRIPT } from './page';

/** What a route answers: a status code, a content type and a body. */
export interface Reply {
  status: number;
  type: string;
  body: string;
}

/** Whether the agent's membership is up (started), or stopping: EMQX's `started` / `stopped`. */
export type Lifecycle = 'starting' | 'started' | 'stopping';

export interface RouteContext {
  node: ClusterNode;
  /** The metrics registry, made at the first scrape. */
  registry: () => Registry;
  /** `/api/v1/cluster`, worked out at most once per page refresh however many ask (observe/cluster-view.ts). */
  clusterView: () => ReturnType<typeof clusterView>;
  lifecycle: () => Lifecycle;
  pageRefreshMs: number;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';

const json = (status: number, v: unknown): Reply => ({ status, type: JSON_TYPE, body: `${JSON.stringify(v, null, 2)}\n` });
const text = (status: number, body: string): Reply => ({ status, type: TEXT_TYPE, body: `${body}\n` });

/** `?format=` of the status routes: EMQX's `text` (default) or `json`; anything else is a 400 naming both. */
function formatOf(query: URLSearchParams): 'text' | 'json' | Reply {
  const f = query.get('format') ?? 'text';
  if (f === 'text' || f === 'json') return f;
  return text(400, `format must be text or json, not '${f.slice(0, 40)}'`);
}

/**
 * `GET /status`, EMQX's convention: `Node <name> is started` and `muster is running` (200) once the
 * membership runs, `not_running` (503) while it starts or stops; `?format=json` for the same as JSON.
 */
function status(c: RouteContext, q: URLSearchParams): Reply {
  const format = formatOf(q);
  if (typeof format !== 'string') return format;
  const life = c.lifecycle();
  const broker = life === 'stopping' ? 'stopped' : 'started';
  const app = life === 'started' ? 'running' : 'not_running';
  const code = app === 'running' ? 200 : 503;
  if (format === 'json') return json(code, { node_name: c.node.name, broker_status: broker, app_status: app });
  return text(code, `Node ${c.node.name} is ${broker}\nmuster is ${app}`);
}

/** Liveness: the agent's event loop answers. A restart helps only when it does not (it would also lose nothing: state is on disk). */
function live(c: RouteContext, q: URLSearchParams): Reply {
  const format = formatOf(q);
  if (typeof format !== 'string') return format;
  const stopping = c.lifecycle() === 'stopping';
  const code = stopping ? 503 : 200;
  if (format === 'json') return json(code, { node: c.node.name, live: !stopping });
  return text(code, stopping ? `${c.node.name} is stopping` : `${c.node.name} is live`);
}

/** What `/status/ready` and the `muster_ready` metric say: the node's readiness once its membership runs. */
export function readiness(life: Lifecycle, node: ClusterNode): { ready: boolean; reason: string } {
  return life === 'started' ? node.ready() : { ready: false, reason: `the agent is ${life}` };
}

/** Readiness: what `muster ctl cluster ready` checks (a synced, running member of a cluster of at least cluster.ready_min_nodes). */
function ready(c: RouteContext, q: URLSearchParams): Reply {
  const format = formatOf(q);
  if (typeof format !== 'string') return format;
  const r = readiness(c.lifecycle(), c.node);
  const code = r.ready ? 200 : 503;
  if (format === 'json') return json(code, { node: c.node.name, ...r });
  return text(code, `${r.ready ? 'ready' : 'not ready'}: ${r.reason}`);
}

async function metrics(c: RouteContext): Promise<Reply> {
  const registry = c.registry();
  return { status: 200, type: registry.contentType, body: await registry.metrics() };
}

/** The read-only routes, by path. Nothing here changes the cluster. */
export const ROUTES: Record<string, (c: RouteContext, q: URLSearchParams) => Reply | Promise<Reply>> = {
  '/': (c) => ({ status: 200, type: 'text/html; charset=utf-8', body: clusterPage(c.node.name, c.pageRefreshMs) }),
  '/page.js': () => ({ status: 200, type: 'text/javascript; charset=utf-8', body: PAGE_SCRIPT }),
  '/status': status,
  '/status/live': live,
  '/status/ready': ready,
  '/metrics': metrics,
  '/api/v1/cluster': (c) => json(200, c.clusterView()),
  '/api/v1/nodes': (c) => json(200, nodesOf(c.node)),
};
