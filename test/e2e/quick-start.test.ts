import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { converge, ctl, docker } from './helpers';
import { ensureStandInImages, STANDIN } from './standin-images';

// The seed page's Docker quick start ("快速开始"), both tabs, with `emqx` replaced by `muster`
// and nothing else changed, except:
// - the image: built from dist/image (as the README's quick start says) on the stand-in of
//   node:24-bookworm-slim, since nothing can be pulled here;
// - the page creates `emqx-net` and then runs its containers on `--network emqx-bridge`, a
//   network it never created (Docker refuses: "network emqx-bridge not found"); both steps here
//   use the one network step 1 creates;
// - the page publishes EMQX's MQTT and dashboard ports on the host (-p 1883:1883 ...); Muster
//   listens on none of them, and tests use no host ports, so they are left out;
// - `docker exec -it` needs a terminal; the test has none, so `-i` alone.
// The page sets no cookie (EMQX's image has a default one, which Muster refuses): the first step
// as written must stop with exit 2 saying so, and the rest adds MUSTER_NODE_COOKIE.

const IMAGE = 'muster-test/muster:quick-start';
const NET = 'muster-net';
const COOKIE = randomBytes(24).toString('base64');
const NODE1 = 'muster@node1.muster.com';
const NODE2 = 'muster@node2.muster.com';

function exists(kind: 'container' | 'network', name: string): boolean {
  try {
    docker(kind, 'inspect', name);
    return true;
  } catch {
    return false;
  }
}

function removeOurs(): void {
  for (const c of ['muster1', 'muster2']) if (exists('container', c)) docker('rm', '-f', c);
}

async function until(what: string, pred: () => boolean, limitMs = 30_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${limitMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("the seed page's Docker quick start, emqx replaced by muster", { timeout: 600_000 }, () => {
  let created = false;
  before(() => {
    docker('info', '--format', '{{.ServerVersion}}');
    for (const c of ['muster1', 'muster2']) if (exists('container', c)) throw new Error(`a container named ${c} exists already; the quick start needs the name (remove it, or run this test elsewhere)`);
    if (exists('network', NET)) throw new Error(`a network named ${NET} exists already; the quick start creates it`);
    ensureStandInImages();
    const context = path.resolve(__dirname, '../../dist/image');
    execFileSync('docker', ['build', '-q', '-t', IMAGE, '--build-arg', `BASE_IMAGE=${STANDIN.node}`, context], { stdio: ['ignore', 'ignore', 'pipe'] });
    // Step 1, as written: docker network create emqx-net
    docker('network', 'create', NET);
    created = true;
  });
  after(() => {
    removeOurs();
    if (created) docker('network', 'rm', NET);
  });

  it('as written (no cookie): the node stops with exit 2 and says the cookie is required', async () => {
    docker('run', '-d', '--name', 'muster1', '-e', `MUSTER_NODE_NAME=${NODE1}`, '--network', NET, '--network-alias', 'node1.muster.com', IMAGE);
    await until('muster1 to exit', () => docker('inspect', '--format', '{{.State.Status}}', 'muster1') === 'exited');
    assert.equal(docker('inspect', '--format', '{{.State.ExitCode}}', 'muster1'), '2');
    // docker logs gives the container's stderr on its own stderr.
    assert.match(execFileSync('sh', ['-c', 'docker logs muster1 2>&1'], { encoding: 'utf8' }), /node\.cookie.*is required/);
    removeOurs();
  });

  it('manual tab: two nodes started, then `docker exec -i muster2 muster ctl cluster join muster@node1.muster.com`', async () => {
    const cookie = ['-e', `MUSTER_NODE_COOKIE=${COOKIE}`];
    docker('run', '-d', '--name', 'muster1', '-e', `MUSTER_NODE_NAME=${NODE1}`, ...cookie, '--network', NET, '--network-alias', 'node1.muster.com', IMAGE);
    await converge(['muster1'], [NODE1]);
    docker('run', '-d', '--name', 'muster2', '-e', `MUSTER_NODE_NAME=${NODE2}`, ...cookie, '--network', NET, '--network-alias', 'node2.muster.com', IMAGE);
    await converge(['muster2'], [NODE2]);
    const join = ctl('muster2', 'cluster', 'join', NODE1);
    assert.equal(join.code, 0, join.out);
    assert.match(join.out, /Join the cluster successfully/);
    await converge(['muster1', 'muster2'], [NODE1, NODE2]);
    const status = ctl('muster1', 'cluster', 'status');
    assert.equal(status.code, 0, status.out);
    assert.match(status.out, /running_nodes => \[.*'muster@node1\.muster\.com'.*'muster@node2\.muster\.com'.*\]/s);
    removeOurs();
  });

  it('static tab: MUSTER_CLUSTER__DISCOVERY_STRATEGY=static and the seeds; the two nodes form with no command typed', async () => {
    const env = ['-e', `MUSTER_NODE_COOKIE=${COOKIE}`, '-e', 'MUSTER_CLUSTER__DISCOVERY_STRATEGY=static', '-e', `MUSTER_CLUSTER__STATIC__SEEDS=[${NODE1},${NODE2}]`];
    docker('run', '-d', '--name', 'muster1', '-e', `MUSTER_NODE_NAME=${NODE1}`, ...env, '--network', NET, '--network-alias', 'node1.muster.com', IMAGE);
    docker('run', '-d', '--name', 'muster2', '-e', `MUSTER_NODE_NAME=${NODE2}`, ...env, '--network', NET, '--network-alias', 'node2.muster.com', IMAGE);
    await converge(['muster1', 'muster2'], [NODE1, NODE2]);
    removeOurs();
  });
});
