import { collectDefaultMetrics, Counter, Gauge, Registry, type MetricValueWithName } from 'prom-client';
import type { ClusterNode } from '../membership/cluster';
import type { TlsMaterial } from '../transport/tls';
import type { LabelledCount, Traffic } from './stats';

/**
 * `GET /metrics`: the node's metrics in Prometheus's text format (prom-client). Everything is read
 * from the node and its Stats when Prometheus scrapes, so nothing runs between scrapes. Names follow
 * Prometheus's conventions: a `muster_` prefix, units in the name, `_total` on counters. README.md
 * lists each one.
 */
export function metricsRegistry(node: ClusterNode, o: { certificate?: TlsMaterial; ready: () => boolean }): Registry {
  const tls = o.certificate;
  const registry = new Registry();
  const s = node.stats;
  const registers = [registry];

  /** A counter whose value is one of the node's own counts, read at scrape time. */
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  const labelled = (name: string, help: string, label: string, counts: LabelledCount) =>
    new Counter({
      name,
      help,
      labelNames: [label],
      registers,
      collect() {
        this.reset();
        for (const [v, n] of counts.values) this.inc({ [label]: v }, n);
      },
    });
  const gauge = (name: string, help: string, read: () => number, labelNames: string[] = [], readLabelled?: () => Array<[Record<string, string>, number]>) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      collect() {
        if (!readLabelled) return this.set(read());
        this.reset();
        for (const [labels, v] of readLabelled()) this.set(labels, v);
      },
    });

  gauge('muster_node_info', 'Always 1: this node, its cluster and its role, as labels.', () => 1, ['node', 'cluster_name', 'role'], () => [[{ node: node.name, cluster_name: node.cfg.cluster.name, role: node.role }, 1]]);
  gauge('muster_ready', '1 when this node is ready (GET /status/ready answers 200), else 0.', () => (o.ready() ? 1 : 0));
  gauge('muster_members', 'Members of the cluster in this node\'s view, by state (running, stopped).', () => 0, ['state'], () => {
    const running = node.runningNodes().length;
    return [
      [{ state: 'running' }, running],
      [{ state: 'stopped' }, node.memberNames().length - running],
    ];
  });
  gauge('muster_links_up', 'Links to other members that are up (the overlay keeps a few per node, not one per member).', () => node.peers.upLinks().length);
  counter('muster_partitions_seen_total', 'Partitions this node saw end (healed, or kept apart with autoheal off).', () => s.partitionsSeen);
  counter('muster_probes_sent_total', 'Probes (pings) this node sent to members.', () => s.probesSent);
  counter('muster_probes_failed_total', 'Probes not answered in time.', () => s.probesFailed);
  registry.registerMetric(histogramOf('muster_probe_rtt_seconds', 'Round trip of answered probes.', s.probeRttMs));
  counter('muster_down_claims_made_total', 'Members this node reported down (a lost link or unanswered probes).', () => s.downClaimsMade);
  counter('muster_down_claims_refuted_total', 'Reports that this node was down, answered by this node with a higher incarnation.', () => s.downClaimsRefuted);
  const traffic = (name: string, help: string, pick: (t: Traffic) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['direction', 'kind'],
      registers,
      collect() {
        this.reset();
        for (const [direction, m] of [['in', s.trafficIn], ['out', s.trafficOut]] as const) for (const [kind, t] of m) this.inc({ direction, kind }, pick(t));
      },
    });
  traffic('muster_transport_messages_total', 'Frames to and from peers, by direction and kind (gossip, sync, ping, join, ...; handshake; control).', (t) => t.messages);
  traffic('muster_transport_bytes_total', 'Bytes of those frames on the wire (framing included, TLS and TCP not).', (t) => t.bytes);
  new Counter({
    name: 'muster_writes_total',
    help: 'Data writes (put, del) started on this node, by result: acked by every running member, or not (yet: they spread later).',
    labelNames: ['result'],
    registers,
    collect() {
      this.reset();
      this.inc({ result: 'acked' }, s.writesAcked);
      this.inc({ result: 'not_acked' }, s.writesNotAcked);
    },
  });
  gauge('muster_state_members', 'Members in the replicated state.', () => node.memberNames().length);
  gauge('muster_state_keys', 'Data keys with a value.', () => node.replica.data.values().length - node.replica.tombstoneKeys().length);
  gauge('muster_state_tombstones', 'Deleted data keys still kept until every member holds the deletion.', () => node.replica.tombstoneKeys().length);
  labelled('muster_discovery_runs_total', 'Discovery rounds, by strategy.', 'strategy', s.discoveryRuns);
  labelled('muster_discovery_errors_total', 'Discovery rounds and registrations that failed, by strategy.', 'strategy', s.discoveryErrors);
  new Counter({
    name: 'muster_http_requests_total',
    help: 'Requests this HTTP listener answered, by path (unknown paths as other) and status code; the 400, 408 and 431 that Node.js sends itself for broken requests are not counted.',
    labelNames: ['path', 'code'],
    registers,
    collect() {
      this.reset();
      for (const [key, n] of s.httpRequests.values) {
        const [path, code] = key.split(' ');
        this.inc({ path, code }, n);
      }
    },
  });
  labelled('muster_handshakes_refused_total', 'Incoming connections refused, by cause (bad_cookie, wrong_cluster, tls, protocol, throttled, ...).', 'cause', s.handshakesRefused);
  if (tls) gauge('muster_tls_certificate_expiry_timestamp_seconds', 'When this node\'s certificate (cluster.ssl.certfile) expires, in seconds since the epoch.', () => tls.certificateExpiresAt() / 1000);
  // The process's own metrics under their standard names (process_cpu_seconds_total, ...).
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * A histogram over the node's own bucket counts (ms), in seconds as Prometheus expects: prom-client's
 * Histogram cannot take counts kept elsewhere, and its registry formats any metric whose get() says
 * what it holds.
 */
function histogramOf(name: string, help: string, h: { bounds: readonly number[]; counts: number[]; sum: number; count: number }) {
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get() {
      const values: MetricValueWithName<string>[] = [];
      let cumulative = 0;
      h.bounds.forEach((b, i) => {
        cumulative += h.counts[i];
        values.push({ metricName: `${name}_bucket`, labels: { le: b / 1000 }, value: cumulative });
      });
      values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: h.count });
      values.push({ metricName: `${name}_sum`, labels: {}, value: h.sum / 1000 });
      values.push({ metricName: `${name}_count`, labels: {}, value: h.count });
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
  } as unknown as Parameters<Registry['registerMetric']>[0];
}
