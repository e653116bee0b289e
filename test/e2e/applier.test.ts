import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { StackApplier } from './applier';
import { docker } from './helpers';
import { OFFICIAL } from './official-images';
import { ensureStandInImages, STANDIN } from './standin-images';

// The test tools are as strict as what they stand in for: the stand-in images carry the official
// images' metadata, and the applier does what kreuzwerker/docker v3.6.2 does where the kit's
// resources could go wrong. Each case here is a way a real deploy fails that a forgiving tool hid.

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A stack directory holding a hand-written cdk.tf.json, and a state file for it. */
function stack(resource: Json): { dir: string; statePath: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'muster-applier-'));
  writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({ provider: { docker: [{}] }, resource }));
  return { dir, statePath: path.join(dir, 'state.json') };
}

const exists = (name: string) => {
  try {
    docker('inspect', '--format', '{{.Id}}', name);
    return true;
  } catch {
    return false;
  }
};

describe('stand-in images carry the official images\' metadata', { timeout: 300_000 }, () => {
  before(() => ensureStandInImages());
  for (const [standin, meta] of [
    [STANDIN.node, OFFICIAL.node],
    [STANDIN.nodeAlpine, OFFICIAL.nodeAlpine],
    [STANDIN.dns, OFFICIAL.bind9],
    [STANDIN.etcd, OFFICIAL.etcd],
  ] as const) {
    it(`${standin} is ${meta.of}: ENTRYPOINT, CMD, USER, WORKDIR, VOLUMEs, ENV`, () => {
      const c = JSON.parse(docker('image', 'inspect', '--format', '{{json .Config}}', standin)) as Json;
      assert.deepEqual(c.Entrypoint ?? null, meta.entrypoint);
      assert.deepEqual(c.Cmd, meta.cmd);
      assert.equal(c.User ?? '', meta.user);
      assert.equal(c.WorkingDir ?? '', meta.workdir);
      assert.deepEqual(Object.keys(c.Volumes ?? {}).sort(), [...meta.volumes].sort());
      const key = (e: string) => e.slice(0, e.indexOf('='));
      assert.deepEqual((c.Env as string[]).map(key).sort(), meta.env.map(key).sort());
      for (const e of meta.env.filter((x) => !x.startsWith('NODE_VERSION='))) assert.ok((c.Env as string[]).includes(e), e);
    });
  }
  it('the BusyBox-based node stand-in refuses `env -S`, as node:*-alpine does', () => {
    const r = (() => {
      try {
        return { code: 0, out: execFileSync('docker', ['run', '--rm', '--entrypoint', '/usr/bin/env', STANDIN.nodeAlpine, '-S', 'node --version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
      } catch (e) {
        return { code: (e as { status: number }).status, out: String((e as { stderr: string }).stderr) };
      }
    })();
    assert.notEqual(r.code, 0);
    assert.match(r.out, /unrecognized option|invalid option/);
  });
  it('the etcd stand-in has no shell, as distroless has none', () => {
    assert.throws(() => execFileSync('docker', ['run', '--rm', '--entrypoint', '/bin/sh', STANDIN.etcd, '-c', 'true'], { stdio: 'pipe' }));
  });
});

describe('the applier does what kreuzwerker/docker v3.6.2 does', { timeout: 300_000 }, () => {
  before(() => ensureStandInImages());

  it('must_run: a container that exits right after start fails the apply, is removed, and is not in the state', async () => {
    // The DNS server as the kit wrote it before: `command` repeating the image's ENTRYPOINT, so
    // named gets its own path as an argument and exits.
    const { dir, statePath } = stack({
      docker_container: { dns: { name: 'muster-applier-exits', image: STANDIN.dns, command: ['/usr/sbin/named', '-g', '-c', '/etc/bind/named.conf', '-u', 'bind'] } },
    });
    const applier = new StackApplier(dir, {}, { statePath });
    await assert.rejects(applier.apply(), /docker_container\.dns: container exited immediately/);
    assert.equal(exists('muster-applier-exits'), false, 'the provider deletes it');
    assert.deepEqual(JSON.parse(readFileSync(statePath, 'utf8')).resources, {});
  });

  it('refresh of a stopped must_run container deletes it and plans to create it again (issues #590, #850)', async () => {
    const { dir, statePath } = stack({ docker_container: { s: { name: 'muster-applier-stopped', image: STANDIN.nodeAlpine, command: ['sleep', '600'], destroy_grace_seconds: 1 } } });
    const applier = new StackApplier(dir, {}, { statePath });
    try {
      await applier.apply();
      assert.deepEqual(await applier.plan(), []);
      docker('stop', '-t', '1', 'muster-applier-stopped');
      assert.deepEqual((await applier.plan()).map((c) => c.action), ['create']);
      assert.equal(exists('muster-applier-stopped'), false, 'the refresh removed it');
    } finally {
      await applier.destroy();
    }
  });

  it('a changed env replaces the container; a healthcheck written "1m" changes in place on every plan (Read gives "1m0s")', async () => {
    const body = (env: string, interval: string) => ({
      docker_container: {
        s: { name: 'muster-applier-diff', image: STANDIN.nodeAlpine, command: ['sleep', '600'], env: [env], destroy_grace_seconds: 1, healthcheck: { test: ['CMD', 'true'], interval } },
      },
    });
    const a = stack(body('A=1', '1m0s'));
    const applier = new StackApplier(a.dir, {}, { statePath: a.statePath });
    try {
      await applier.apply();
      assert.deepEqual(await applier.plan(), []);
      const b = stack(body('A=2', '1m0s'));
      const changed = await new StackApplier(b.dir, {}, { statePath: a.statePath }).plan();
      assert.equal(changed[0].action, 'replace');
      assert.match(changed[0].reasons.join(), /env: .* \(forces replacement\)/);
      const c = stack(body('A=1', '1m'));
      const applier2 = new StackApplier(c.dir, {}, { statePath: a.statePath });
      const plan = await applier2.plan();
      assert.deepEqual(plan.map((x) => x.action), ['update']);
      await applier2.apply();
      assert.deepEqual((await applier2.plan()).map((x) => x.action), ['update'], 'the same diff again: Update ignores healthcheck');
    } finally {
      await applier.destroy();
    }
  });

  it('wait: a container whose healthcheck never passes fails the apply after wait_timeout and is kept tainted', async () => {
    const { dir, statePath } = stack({
      docker_container: {
        w: { name: 'muster-applier-wait', image: STANDIN.nodeAlpine, command: ['sleep', '600'], wait: true, wait_timeout: 3, destroy_grace_seconds: 1, healthcheck: { test: ['CMD', 'false'], interval: '1s', retries: 1 } },
      },
    });
    const applier = new StackApplier(dir, {}, { statePath });
    try {
      await assert.rejects(applier.apply(), /container failed to be in healthy state/);
      const state = JSON.parse(readFileSync(statePath, 'utf8')) as Json;
      assert.equal(state.resources['docker_container.w'].tainted, true);
      assert.deepEqual((await applier.plan()).map((c) => c.action), ['replace']);
    } finally {
      await applier.destroy();
    }
  });

  it('destroy stops with destroy_grace_seconds (SIGTERM first); without it, SIGKILL at once', async () => {
    // A shell that logs SIGTERM to a volume: only an orderly stop leaves the line. The trap runs when
    // the current `sleep 1` ends, so a SIGKILL right after the SIGTERM always comes first.
    const trap = (name: string, grace?: number) => ({
      name,
      image: STANDIN.nodeAlpine,
      command: ['sh', '-c', "trap 'echo TERM > /out/term; exit 0' TERM; while true; do sleep 1; done"],
      volumes: [{ volume_name: `${name}-out`, container_path: '/out' }],
      ...(grace ? { destroy_grace_seconds: grace } : {}),
    });
    for (const [grace, expected] of [[5, true], [undefined, false]] as const) {
      const name = `muster-applier-grace${grace ?? 0}`;
      docker('volume', 'create', `${name}-out`);
      try {
        const { dir, statePath } = stack({ docker_container: { g: trap(name, grace) } });
        const applier = new StackApplier(dir, {}, { statePath });
        await applier.apply();
        await applier.destroy();
        const seen = execFileSync('docker', ['run', '--rm', '-v', `${name}-out:/out`, '--entrypoint', '/bin/sh', STANDIN.nodeAlpine, '-c', 'cat /out/term 2>/dev/null || true'], { encoding: 'utf8' }).trim();
        assert.equal(seen === 'TERM', expected, `destroy_grace_seconds ${grace}: ${seen}`);
      } finally {
        docker('volume', 'rm', '-f', `${name}-out`);
      }
    }
  });
});

describe('Terraform\'s preconditions: the TLS directory given as a variable is checked at plan', () => {
  // The static-tls stack takes tls_dir from a variable, so synth cannot look at it; each node's
  // container carries a precondition that `terraform plan` evaluates, naming the host's files.
  let stackDir: string;
  before(async () => {
    const { buildApp } = await import('../../stacks/main');
    const { app } = buildApp(mkdtempSync(path.join(tmpdir(), 'muster-precondition-')));
    app.synth();
    stackDir = path.join(app.outdir, 'stacks', 'static-tls');
  });
  const planWith = (tlsDir: string) => new StackApplier(stackDir, { cookie: 'a-cookie-for-the-plan', tls_dir: tlsDir }, { statePath: path.join(mkdtempSync(path.join(tmpdir(), 'muster-state-')), 'state.json') }).plan();
  const tlsTree = (hosts: string[], skip?: string): string => {
    const dir = mkdtempSync(path.join(tmpdir(), 'muster-tls-'));
    for (const h of hosts) {
      mkdirSync(path.join(dir, h));
      for (const f of ['ca.crt', 'tls.crt', 'tls.key']) if (`${h}/${f}` !== skip) writeFileSync(path.join(dir, h, f), 'pem');
    }
    return dir;
  };
  const hosts = ['node1.statictls.internal', 'node2.statictls.internal', 'node3.statictls.internal'];

  it('a complete directory plans every node; a missing file, a relative path or a directory without the hosts fails the plan naming the node', async () => {
    const changes = await planWith(tlsTree(hosts));
    assert.equal(changes.filter((c) => c.address.startsWith('docker_container.') && c.action === 'create').length, 3);
    await assert.rejects(planWith(tlsTree(hosts, 'node2.statictls.internal/tls.key')), (e: Error) => {
      assert.match(e.message, /Resource precondition failed \(docker_container\.[^)]*node2[^)]*\): tls_dir must be an absolute directory on the Docker host holding node2\.statictls\.internal\/ca\.crt/);
      assert.doesNotMatch(e.message, /node1|node3/, 'only the node missing a file');
      return true;
    });
    await assert.rejects(planWith(path.relative(process.cwd(), tlsTree(hosts))), /Resource precondition failed[\s\S]*node1[\s\S]*node2[\s\S]*node3/);
    await assert.rejects(planWith(mkdtempSync(path.join(tmpdir(), 'muster-tls-empty-'))), /Resource precondition failed/);
  });

  it('a path that is a directory where a file belongs is Terraform\'s fileexists error, not a pass', async () => {
    const dir = tlsTree(hosts, 'node1.statictls.internal/ca.crt');
    mkdirSync(path.join(dir, 'node1.statictls.internal', 'ca.crt'));
    await assert.rejects(planWith(dir), /precondition: Invalid function argument: .*ca\.crt is not a regular file/);
  });
});
