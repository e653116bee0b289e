import type { MusterCluster } from '../constructs/muster-cluster';
import { resolveForDisplay, type TerraformStack } from '../lib/cdktf';

/**
 * A Markdown summary of a stack for pull-request review: nodes, DNS records, discovery settings,
 * images and a Mermaid diagram. Deterministic, so a change to the stack is a small, readable diff.
 */
export function clusterSummary(stack: TerraformStack, c: MusterCluster): string {
  const stackName = stack.node.id;
  // Variables show as `${var.name}`, as in the plan.
  const display = (v: string) => String(resolveForDisplay(stack, v));
  const out: string[] = [];
  const d = c.discovery;
  out.push(`# Stack \`${stackName}\``, '');
  out.push(`Cluster \`${c.clusterName}\` on Docker network \`${c.network.name}\` (${c.network.subnet}, gateway ${c.network.gateway}); cluster port ${c.port}.`, '');
  if (c.replicants.length) out.push(`${c.nodes.length} core node(s) and ${c.replicants.length} replicant(s) (\`node.role = replicant\`: each links to two cores, keeps a copy of the data and writes through a core).`, '');
  out.push(`Nodes connect with \`${c.protoDist}\`${c.protoDist.endsWith('_tls') ? ' (mutual TLS; certificates from the tls_dir variable)' : ''}.`, '');
  out.push('## Nodes', '', '| node name | container | host (alias) | address | role |', '|---|---|---|---|---|');
  for (const n of c.declaredNodes) out.push(`| \`${n.nodeName}\` | ${n.containerName} | ${n.host} | ${n.address}${n.address6 ? `, ${n.address6}` : ''} | muster ${n.role} |`);
  if (c.dnsServer) out.push(`| – | ${c.dnsServer.containerName} | ns.${c.dnsServer.zone} | ${c.dnsServer.address} | DNS server (BIND 9) |`);
  for (const m of c.etcd?.members ?? []) out.push(`| – | ${m.name} | ${m.name} | ${m.address} | etcd member |`);
  out.push('', '## Discovery', '');
  out.push(`Strategy \`${d.strategy}\`. Settings every node gets as \`MUSTER_*\` variables (the cookie comes from the sensitive variable \`cookie\`):`, '');
  out.push('| key | value |', '|---|---|');
  for (const [k, v] of Object.entries(c.settings)) {
    if (v === undefined) continue;
    out.push(`| \`${k}\` | \`${Array.isArray(v) ? `[${v.join(', ')}]` : String(v)}\` |`);
  }
  if (c.dnsServer) {
    out.push('', `## DNS records (zone \`${c.dnsServer.zone}\`)`, '', '| name | type | value |', '|---|---|---|');
    for (const r of c.dnsServer.records) {
      out.push(r.type !== 'SRV' ? `| ${r.name} | ${r.type} | ${r.address} |` : `| ${r.name} | SRV | ${r.priority ?? 10} ${r.weight ?? 10} ${r.port} ${r.target} |`);
    }
  }
  out.push('', '## Images', '', '| use | image |', '|---|---|');
  out.push(
    c.image
      ? `| node | \`${display(c.imageName)}\`, built from \`node-agent/Dockerfile\` on \`${display(c.image.baseImage)}\` (context hash \`${c.image.contextHash.slice(0, 12)}\`) |`
      : `| node | \`${display(c.imageName)}\` (prebuilt) |`,
  );
  if (c.dnsServer) out.push(`| DNS | \`${display(c.dnsServer.image)}\` |`);
  if (c.etcd) out.push(`| etcd | \`${display(c.etcd.image)}\` |`);
  out.push('', '## Diagram', '', '```mermaid', 'graph LR');
  out.push(`  net{{"${c.network.name}<br/>${c.network.subnet}"}}`);
  c.declaredNodes.forEach((n, i) => out.push(`  n${i}["${n.containerName}<br/>${n.nodeName}<br/>${n.address}${n.role === 'replicant' ? '<br/>replicant' : ''}"] --- net`));
  if (c.dnsServer) out.push(`  dns[("${c.dnsServer.containerName}<br/>BIND 9<br/>${c.dnsServer.address}")] --- net`);
  c.etcd?.members.forEach((m, i) => out.push(`  etcd${i}[("${m.name}<br/>etcd<br/>${m.address}")] --- net`));
  out.push('```', '');
  return out.join('\n');
}


/** For stacks without a MusterCluster (Kubernetes): the resources of the synthesized JSON, by type. */
export function resourceSummary(stackName: string, synthesized: { resource?: Record<string, Record<string, { '//'?: { metadata?: { path?: string } } }>> }): string {
  const out = [`# Stack \`${stackName}\``, '', '| resource type | construct path |', '|---|---|'];
  const rows: string[] = [];
  for (const [type, byId] of Object.entries(synthesized.resource ?? {})) {
    for (const r of Object.values(byId)) rows.push(`| \`${type}\` | ${r['//']?.metadata?.path ?? ''} |`);
  }
  out.push(...rows.sort(), '', '```mermaid', 'graph LR');
  Object.keys(synthesized.resource ?? {})
    .sort()
    .forEach((t, i) => out.push(`  r${i}["${t}"]`));
  out.push('```', '');
  return out.join('\n');
}

/**
 * For a Kubernetes stack: what a reviewer needs of the cluster (replicas, image, node names,
 * discovery, probes, resources, storage, disruption budget) from its synthesized StatefulSet, then
 * the resources by type.
 */
export function k8sSummary(stackName: string, synthesized: { resource?: Record<string, Record<string, any>> }): string { // eslint-disable-line @typescript-eslint/no-explicit-any
  const sts = Object.values(synthesized.resource?.kubernetes_stateful_set_v1 ?? {})[0];
  const pdb = Object.values(synthesized.resource?.kubernetes_pod_disruption_budget_v1 ?? {})[0];
  if (!sts) return resourceSummary(stackName, synthesized);
  const c = sts.spec.template.spec.container[0];
  const env = Object.fromEntries(((c.env ?? []) as { name: string; value?: string }[]).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
  type Probe = { exec?: { command: string[] }; http_get?: { path: string; port: string; scheme?: string }; period_seconds?: number; timeout_seconds?: number; failure_threshold?: number };
  const what = (p: Probe) => (p.http_get ? `\`${p.http_get.scheme ?? 'HTTP'} GET ${p.http_get.path}\` on port ${p.http_get.port}` : p.exec ? `\`${p.exec.command.join(' ')}\`` : 'an unknown probe');
  const probe = (p: Probe) => `${what(p)} every ${p.period_seconds ?? 10} s, timeout ${p.timeout_seconds ?? 1} s${p.failure_threshold ? `, ${p.failure_threshold} failures` : ''}`;
  const dep = Object.values(synthesized.resource?.kubernetes_deployment_v1 ?? {})[0];
  const out = [`# Stack \`${stackName}\``, '', `StatefulSet \`${sts.metadata.name}\` in namespace \`${sts.metadata.namespace}\`: **${sts.spec.replicas} core pods** (${sts.spec.pod_management_policy}), image \`${c.image}\`.`, ''];
  if (dep) out.push(`Deployment \`${dep.metadata.name}\`: **${dep.spec.replicas} replicant pods** (\`node.role = replicant\`, named by pod IP, data on an emptyDir; each links to two cores found through the Service, which selects the cores only). Scaling it changes nothing of the StatefulSet.`, '');
  out.push('| what | value |', '|---|---|');
  out.push(`| node names | \`${env.MUSTER_NODE__NAME}\` |`);
  out.push(`| discovery | \`${env.MUSTER_CLUSTER__DISCOVERY_STRATEGY}\` through Service \`${env.MUSTER_CLUSTER__K8S__SERVICE_NAME}\` (${env.MUSTER_CLUSTER__K8S__ADDRESS_TYPE} addresses, suffix \`${env.MUSTER_CLUSTER__K8S__SUFFIX}\`) |`);
  out.push(`| ready when | a member of a cluster of at least ${env.MUSTER_CLUSTER__READY_MIN_NODES ?? 1} |`);
  out.push(`| readiness probe | ${probe(c.readiness_probe)} |`);
  out.push(`| liveness probe | ${probe(c.liveness_probe)} |`);
  const ann = sts.spec.template.metadata.annotations ?? {};
  if (ann['prometheus.io/scrape'] === 'true') out.push(`| metrics | Prometheus scrape annotations: port ${ann['prometheus.io/port']}, path \`${ann['prometheus.io/path']}\` |`);
  out.push(`| resources | requests ${JSON.stringify(c.resources?.requests ?? {})}, limits ${JSON.stringify(c.resources?.limits ?? {})} |`);
  out.push(`| storage | ${sts.spec.volume_claim_template[0].spec.resources.requests.storage} per pod${sts.spec.volume_claim_template[0].spec.storage_class_name ? ` (${sts.spec.volume_claim_template[0].spec.storage_class_name})` : ''} |`);
  if (pdb) out.push(`| disruption budget | at most ${pdb.spec.max_unavailable} pod(s) down by a drain |`);
  out.push(`| runs as | uid ${sts.spec.template.spec.security_context.run_as_user}, fsGroup ${sts.spec.template.spec.security_context.fs_group} |`);
  out.push('', resourceSummary(stackName, synthesized).split('\n').slice(2).join('\n'));
  return out.join('\n');
}
