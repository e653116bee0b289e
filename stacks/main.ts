// `cdktf synth` runs this: one stack per way of forming a cluster, and a Markdown plan summary
// next to each synthesized stack (cdktf.out/stacks/<stack>/plan-summary.md).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { App } from './lib/cdktf';
import { MusterDockerStack } from './stacks/docker-stack';
import { MusterK8sStack } from './stacks/k8s-stack';
import { clusterSummary, k8sSummary } from './plan/summary';

export function buildApp(outdir?: string): { app: App; docker: MusterDockerStack[]; k8s: MusterK8sStack } {
  const app = new App(outdir ? { outdir } : {});
  const docker = [
    new MusterDockerStack(app, 'manual', { clusterName: 'manual', subnet: '10.28.1.0/24', discovery: { strategy: 'manual' }, nodes: 2 }),
    new MusterDockerStack(app, 'static', { clusterName: 'static', subnet: '10.28.2.0/24', discovery: { strategy: 'static' } }),
    new MusterDockerStack(app, 'dns-a', { clusterName: 'dnsa', subnet: '10.28.3.0/24', discovery: { strategy: 'dns', recordType: 'a' } }),
    new MusterDockerStack(app, 'dns-srv', { clusterName: 'dnssrv', subnet: '10.28.4.0/24', discovery: { strategy: 'dns', recordType: 'srv' } }),
    new MusterDockerStack(app, 'etcd', { clusterName: 'etcd', subnet: '10.28.5.0/24', discovery: { strategy: 'etcd', members: 1 } }),
    new MusterDockerStack(app, 'static-replicants', { clusterName: 'staticreplicants', subnet: '10.28.8.0/24', discovery: { strategy: 'static' }, replicants: 2 }),
    new MusterDockerStack(app, 'static-tls', { clusterName: 'statictls', subnet: '10.28.6.0/24', discovery: { strategy: 'static' }, protoDist: 'inet_tls' }),
    new MusterDockerStack(app, 'static-v6', {
      clusterName: 'staticv6',
      subnet: '10.28.7.0/24',
      ipv6Subnet: 'fd00:28:7::/64',
      discovery: { strategy: 'static' },
      protoDist: 'inet6_tcp',
    }),
  ];
  const k8s = new MusterK8sStack(app, 'k8s');
  return { app, docker, k8s };
}

export function synthAll(outdir?: string): string {
  const { app, docker, k8s } = buildApp(outdir);
  app.synth();
  const dir = (id: string) => path.join(app.outdir, 'stacks', id);
  for (const stack of docker) writeFileSync(path.join(dir(stack.node.id), 'plan-summary.md'), clusterSummary(stack, stack.cluster));
  const k8sJson = JSON.parse(readFileSync(path.join(dir(k8s.node.id), 'cdk.tf.json'), 'utf8'));
  writeFileSync(path.join(dir(k8s.node.id), 'plan-summary.md'), k8sSummary(k8s.node.id, k8sJson));
  return app.outdir;
}

if (require.main === module) {
  try {
    synthAll();
  } catch (e) {
    // Validation errors name the construct path and the field; no stack trace needed.
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  }
}
