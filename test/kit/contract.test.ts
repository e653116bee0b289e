import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { agentEnvProblems, IMAGE_DATA_DIR, IMAGE_GID, IMAGE_HEALTHCHECK, IMAGE_UID, type AgentSettings } from '../../node-agent/src/contract';
import { MusterCluster } from '../../stacks/constructs/muster-cluster';
import { envForCheck } from '../../stacks/constructs/muster-node';
import { synthAll } from '../../stacks/main';
import { synth, synthError } from './helpers';

// One contract between kit and agent (node-agent/src/contract.ts): the kit's settings go through
// the agent's own config loader at synth, so the kit refuses exactly what an agent would refuse at
// boot, and accepts what it accepts.

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('the kit and the agent share one contract', () => {
  it('every node of every synthesized stack boots: its environment passes the agent\'s own loader', () => {
    const out = synthAll(mkdtempSync(path.join(tmpdir(), 'muster-contract-')));
    let checked = 0;
    for (const stack of ['manual', 'static', 'dns-a', 'dns-srv', 'etcd', 'static-tls', 'static-v6']) {
      const j = JSON.parse(readFileSync(path.join(out, 'stacks', stack, 'cdk.tf.json'), 'utf8')) as Json;
      for (const c of Object.values(j.resource.docker_container as Record<string, Json>)) {
        if (!c.labels?.some((l: Json) => l.label === 'muster.node-name')) continue;
        const env = envForCheck((c.env as string[]).map((e) => e.replace(/\$\{var\.[a-z_]+\}/g, (t) => `\${TfToken[${t}]}`)));
        assert.deepEqual(agentEnvProblems(env), [], `${stack}: ${c.name}`);
        checked++;
      }
    }
    const k8s = JSON.parse(readFileSync(path.join(out, 'stacks', 'k8s', 'cdk.tf.json'), 'utf8')) as Json;
    const pod = (Object.values(k8s.resource.kubernetes_stateful_set_v1)[0] as Json).spec.template.spec.container[0];
    const env = Object.fromEntries(
      (pod.env as Json[]).map((e) => [e.name, e.value_from ? 'from-a-secret' : String(e.value).replace('$(POD_NAME)', 'muster-0').replace('$(POD_NAMESPACE)', 'default').replace(/\$\{var\.namespace\}/, 'default')]),
    );
    assert.deepEqual(agentEnvProblems(env), [], 'k8s pod');
    assert.ok(checked >= 20, `${checked} node containers checked`);
  });

  it('what the agent refuses fails synth, naming the construct, the key and the variable', () => {
    const msg = synthError((stack, cookie) => new MusterCluster(stack, 'c', { nodes: 2, discovery: { strategy: 'etcd', nodeTtl: '500ms' }, cookie }));
    assert.match(msg, /\[test\/c\/muster-node1\] agent settings: cluster\.etcd\.node_ttl \(from MUSTER_CLUSTER__ETCD__NODE_TTL\): '500ms' is too short: at least 1000ms/);
    assert.match(msg, /\[test\/c\/muster-node2\]/, 'every node is reported, not only the first');
  });

  it('what the agent accepts, the kit accepts: 1.5s, and a 253-character host with a trailing dot', () => {
    synth((stack, cookie) => new MusterCluster(stack, 'c', { nodes: 1, discovery: { strategy: 'etcd', nodeTtl: '1.5s' }, cookie }));
    const label = 'a'.repeat(63);
    const host = `${'b'.repeat(52)}.${label}.${label}.${label}.internal.`; // 253 characters before the dot
    assert.equal(host.length, 254);
    assert.deepEqual(agentEnvProblems({ MUSTER_NODE__NAME: `muster@${host}`, MUSTER_NODE__COOKIE: 'c' }), []);
    synth((stack, cookie) => new MusterCluster(stack, 'c', { nodes: [`muster@${host}`], discovery: { strategy: 'manual' }, domain: 'internal', cookie }));
  });

  it('a misspelled setting is a type error (AgentSettings comes from the agent\'s schema)', () => {
    const ok: AgentSettings = { 'cluster.etcd.node_ttl': '30s', 'log.level': 'debug' };
    // @ts-expect-error: there is no such key; `npm run typecheck` fails if this ever compiles.
    const bad: AgentSettings = { 'cluster.etcd.node_tll': '30s' };
    assert.ok(ok && bad);
  });

  it('the node image\'s Dockerfile says what the contract says (user, data dir, healthcheck)', () => {
    const dockerfile = readFileSync(path.resolve(__dirname, '../../node-agent/Dockerfile'), 'utf8');
    assert.match(dockerfile, new RegExp(`^USER ${IMAGE_UID}:${IMAGE_GID}$`, 'm'));
    assert.match(dockerfile, new RegExp(`^ENV MUSTER_NODE__DATA_DIR=${IMAGE_DATA_DIR}$`, 'm'));
    const h = IMAGE_HEALTHCHECK;
    const line = `HEALTHCHECK --interval=${h.interval} --timeout=${h.timeout} --start-period=${h.startPeriod} --retries=${h.retries} CMD ${JSON.stringify(h.test.slice(1)).replace(/,/g, ', ')}`;
    assert.ok(dockerfile.includes(line), `the Dockerfile has: ${line}`);
  });
});
