import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

// Another team's app, as the README tells them to make it: the kit installed from the tarball
// `npm pack` makes (not the TypeScript sources), the CDKTF app template's own tsconfig (read from
// cdktf-cli, so its moduleResolution is the template's), and the README's example verbatim.

const ROOT = path.resolve(__dirname, '../..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string>; peerDependencies: Record<string, string> };
const TEMPLATE = path.join(ROOT, 'node_modules/cdktf-cli/bundle/templates/typescript');

/** The README's TypeScript block that contains `marker`, exactly as written. */
function readmeBlock(marker: string): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]).filter((b) => b.includes(marker));
  assert.equal(blocks.length, 1, `the README has one \`\`\`ts block with ${marker}`);
  return blocks[0];
}
const readmeExample = () => readmeBlock('class PaymentsCluster');

/**
 * A second app: the README's two-clusters-on-one-network lines inside a stack, and the Kubernetes
 * stack, in the same tree. An Aspect counts the resources: it sees the kit's resources only when
 * the kit and the app share one cdktf (a peer dependency), as `instanceof` needs.
 */
const twoClustersApp = () => `import { App, Aspects, TerraformResource, TerraformStack, TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { AgentImage, ClusterNetwork, DnsServer, MusterCluster, MusterK8sStack } from 'muster';

class Apps extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new DockerProvider(this, 'docker', {});
    const cookie = new TerraformVariable(this, 'cookie', { type: 'string', sensitive: true }).stringValue;
${readmeBlock('addressPlan: { nodesFirst: 100 }')}  }
}
const app = new App();
const apps = new Apps(app, 'apps');
const k8s = new MusterK8sStack(app, 'k8s');
let resources = 0;
// cdktf runs the aspects of each stack and its own children.
for (const stack of [apps, k8s]) Aspects.of(stack).add({ visit: (n) => { if (n instanceof TerraformResource) resources++; } });
app.synth();
const clusters = apps.node.findAll().filter((c) => c instanceof MusterCluster).length;
console.log(JSON.stringify({ resources, clusters }));
`;

function run(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CHECKPOINT_DISABLE: '1', NO_UPDATE_NOTIFIER: '1' } });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}:\n${err.stdout ?? ''}${err.stderr ?? err.message}`);
  }
}

describe('the kit as another team installs it: npm pack, install the tarball, synthesize the README example', { timeout: 600_000 }, () => {
  let work = '';
  let app = '';
  before(() => {
    work = mkdtempSync(path.join(tmpdir(), 'muster-pack-'));
    app = path.join(work, 'payments-app');
    mkdirSync(app);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('packs what the entry and the image build need, and nothing of the sources', () => {
    run('npm', ['pack', '--pack-destination', work], ROOT);
    const tarball = path.join(work, `${pkg.name}-${pkg.version}.tgz`);
    assert.ok(existsSync(tarball), `npm pack wrote ${tarball}`);
    const files = run('tar', ['-tzf', tarball], work).split('\n').filter(Boolean);
    for (const f of ['package/dist/kit/stacks/index.js', 'package/dist/kit/stacks/index.d.ts', 'package/dist/kit/node-agent/src/contract.js', 'package/dist/image/Dockerfile', 'package/dist/image/muster.js', 'package/dist/image/muster', 'package/dist/image/muster-health.sh', 'package/dist/image/muster-health.bash', 'package/dist/muster.js']) {
      assert.ok(files.includes(f), `${f} is in the tarball`);
    }
    assert.ok(!files.some((f) => f.startsWith('package/stacks/') || f.startsWith('package/node-agent/') || f.startsWith('package/test/')), 'no sources or tests in the tarball');
  });

  it('installs into a fresh CDKTF app outside the repository, type-checks under the template tsconfig and synthesizes', () => {
    const tarball = path.join(work, `${pkg.name}-${pkg.version}.tgz`);
    // The CDKTF TypeScript template's package.json essentials, and its tsconfig as cdktf-cli ships it.
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'payments-app', version: '1.0.0', private: true, main: 'main.js' }, null, 2));
    copyFileSync(path.join(TEMPLATE, 'tsconfig.json'), path.join(app, 'tsconfig.json'));
    writeFileSync(path.join(app, 'main.ts'), readmeExample());
    const dep = (n: string) => `${n}@${pkg.dependencies[n] ?? pkg.peerDependencies[n]}`;
    // From npm's cache where it can (npm ci filled it): the app gets the same versions the kit pins.
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, dep('cdktf'), dep('constructs'), dep('@cdktf/provider-docker')], app);
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '-D', `typescript@${(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies.typescript}`, '@types/node@20'], app);
    // Type resolution: the template sets no moduleResolution (so node10 for CommonJS), which reads
    // the package's "types"/"main", not "exports".
    run(path.join(app, 'node_modules/.bin/tsc'), ['-p', '.'], app);
    run(process.execPath, ['main.js'], app);
    // One cdktf and one constructs in the app's tree: the kit takes them as peer dependencies.
    for (const peer of ['cdktf', 'constructs']) assert.ok(!existsSync(path.join(app, 'node_modules', pkg.name, 'node_modules', peer)), `the kit has no ${peer} of its own`);
    const stackDir = path.join(app, 'cdktf.out/stacks/payments');
    const synth = JSON.parse(readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8')) as { resource: Record<string, Record<string, { name?: string; build?: { context: string } }>> };
    const containers = Object.values(synth.resource.docker_container).map((c) => c.name).sort();
    assert.deepEqual(containers, ['payments-dns', 'payments-node1', 'payments-node2', 'payments-node3', 'payments-node4', 'payments-node5']);
    // The node image is built from the installed package's own build context.
    const images = Object.values(synth.resource.docker_image).filter((i) => i.build);
    assert.equal(images.length, 1);
    const context = path.join(stackDir, images[0].build!.context);
    assert.deepEqual(readdirSync(context).sort(), readdirSync(path.join(ROOT, 'dist/image')).sort());
  });

  it('a two-clusters-one-network app and a Kubernetes stack synthesize from the package; Aspects and instanceof see the kit\'s constructs', () => {
    writeFileSync(path.join(app, 'two-clusters.ts'), twoClustersApp());
    run(path.join(app, 'node_modules/.bin/tsc'), ['-p', '.'], app);
    const seen = JSON.parse(run(process.execPath, ['two-clusters.js'], app)) as { resources: number; clusters: number };
    assert.equal(seen.clusters, 2);
    const apps = JSON.parse(readFileSync(path.join(app, 'cdktf.out/stacks/apps/cdk.tf.json'), 'utf8')) as { resource: Record<string, Record<string, unknown>> };
    const count = Object.values(apps.resource).reduce((n, byId) => n + Object.keys(byId).length, 0);
    const k8s = JSON.parse(readFileSync(path.join(app, 'cdktf.out/stacks/k8s/cdk.tf.json'), 'utf8')) as { resource: Record<string, Record<string, unknown>> };
    const k8sCount = Object.values(k8s.resource).reduce((n, byId) => n + Object.keys(byId).length, 0);
    assert.equal(seen.resources, count + k8sCount, 'the Aspect visited every resource of both stacks');
    assert.equal(Object.keys(apps.resource.docker_network).length, 1);
    assert.ok(k8s.resource.kubernetes_stateful_set_v1);
  });
});
