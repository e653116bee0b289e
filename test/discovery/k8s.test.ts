import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { K8sDiscovery } from '../../node-agent/src/discovery/k8s';
import { Fleet, waitFor, waitForStatus } from '../support/agents';
import { K8sApiStandIn } from '../support/k8s-standin';
import { formCoresAndReplicants } from '../support/formation';

// The Kubernetes API server is a STAND-IN (test/support/k8s-standin.ts) serving recorded
// EndpointSlice and Endpoints responses over HTTPS with a token check. The agents are real.
const ipMap = { '10.244.1.7': '127.0.15.2', '10.244.2.4': '127.0.15.3', '10.244.1.8': '127.0.15.4' };
const names = Object.values(ipMap).map((ip) => `muster@${ip}`);

describe('Kubernetes discovery (API server stand-in)', { timeout: 120_000 }, () => {
  const api = new K8sApiStandIn('sa-token-123', ipMap);
  before(() => api.start());
  after(() => api.close());

  const env = () => ({
    MUSTER_CLUSTER__DISCOVERY_STRATEGY: 'k8s',
    MUSTER_CLUSTER__K8S__APISERVER: api.url,
    MUSTER_CLUSTER__K8S__SERVICE_NAME: 'muster',
    MUSTER_CLUSTER__K8S__NAMESPACE: 'default',
    MUSTER_CLUSTER__K8S__TOKEN_FILE: api.tokenFile,
    MUSTER_CLUSTER__K8S__CA_FILE: api.caFile,
  });

  it('forms one cluster from the EndpointSlices, not-ready pods included', async () => {
    const fleet = new Fleet();
    try {
      const agents = await fleet.startAll(names, env());
      await waitForStatus(agents, names, [], 30_000);
      assert.ok(api.requests.some((r) => r.startsWith('GET /apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dmuster')));
    } finally {
      await fleet.close();
    }
  });

  it('falls back to Endpoints where EndpointSlices are not served', async () => {
    api.slices = false;
    api.requests.length = 0;
    const fleet = new Fleet();
    try {
      const agents = await fleet.startAll(names, env());
      await waitForStatus(agents, names, [], 30_000);
      assert.ok(api.requests.includes('GET /api/v1/namespaces/default/endpoints/muster'));
    } finally {
      api.slices = true;
      await fleet.close();
    }
  });

  it('logs the HTTP status the API server returned', async () => {
    const fleet = new Fleet();
    try {
      const wrong = fleet.writeFile('wrong-token', 'not-the-token\n');
      const [a] = await fleet.startAll([names[0]], { ...env(), MUSTER_CLUSTER__K8S__TOKEN_FILE: wrong });
      await waitFor(() => a.logged(/discovery attempt failed: API server https:\/\/127\.0\.0\.1:\d+ answered HTTP 401 for GET \/apis\/discovery\.k8s\.io\/v1\/namespaces\/default\/endpointslices\?.*: Unauthorized/), 10_000, 'the 401 to be logged');
      const missing = fleet.agent('muster@127.0.15.9', { ...env(), MUSTER_CLUSTER__K8S__TOKEN_FILE: '/nonexistent/token' });
      await missing.start();
      await waitFor(() => missing.logged(/cannot read the service-account token \/nonexistent\/token: ENOENT/), 10_000, 'the missing token to be logged');
    } finally {
      await fleet.close();
    }
  });

  it('names nodes by address_type ip, dns and hostname as Ekka does', async () => {
    const make = (addressType: 'ip' | 'dns' | 'hostname', suffix: string) =>
      new K8sDiscovery({ apiserver: api.url, serviceName: 'muster', namespace: 'default', addressType, suffix, tokenFile: api.tokenFile, caFile: api.caFile, namePart: 'muster' });
    assert.deepEqual((await make('ip', 'pod.local').discover()).map((n) => n.name), names);
    assert.deepEqual((await make('dns', 'pod.cluster.local').discover()).map((n) => n.name), [
      'muster@127-0-15-2.default.pod.cluster.local',
      'muster@127-0-15-3.default.pod.cluster.local',
      'muster@127-0-15-4.default.pod.cluster.local',
    ]);
    assert.deepEqual((await make('hostname', 'svc.cluster.local').discover()).map((n) => n.name), [
      'muster@muster-0.muster.default.svc.cluster.local',
      'muster@muster-1.muster.default.svc.cluster.local',
      'muster@muster-2.muster.default.svc.cluster.local',
    ]);
  });

  it('refuses an API server whose certificate is not signed by the configured CA', async () => {
    const other = new K8sApiStandIn('sa-token-123', ipMap);
    await other.start();
    try {
      const d = new K8sDiscovery({ apiserver: other.url, serviceName: 'muster', namespace: 'default', addressType: 'ip', suffix: 'pod.local', tokenFile: api.tokenFile, caFile: api.caFile, namePart: 'muster' });
      await assert.rejects(d.discover(), /cannot reach API server .*(SELF_SIGNED|UNABLE_TO_VERIFY|certificate)/i);
    } finally {
      await other.close();
    }
  });

  it('3 cores (a StatefulSet) and 5 replicants (a Deployment) behind one headless Service form one cluster', async () => {
    const podIps = ['10.244.1.20', '10.244.2.21', '10.244.1.22', '10.244.2.23', '10.244.1.24', '10.244.2.25', '10.244.1.26', '10.244.2.27'];
    const roleMap = Object.fromEntries(podIps.map((ip, i) => [ip, `127.0.15.${20 + i}`]));
    const rolesApi = new K8sApiStandIn('sa-token-123', roleMap, 'k8s-roles');
    await rolesApi.start();
    const fleet = new Fleet();
    try {
      const nodes = Object.values(roleMap).map((ip) => `muster@${ip}`);
      const roleEnv = { ...env(), MUSTER_CLUSTER__K8S__APISERVER: rolesApi.url, MUSTER_CLUSTER__K8S__TOKEN_FILE: rolesApi.tokenFile, MUSTER_CLUSTER__K8S__CA_FILE: rolesApi.caFile };
      await formCoresAndReplicants(fleet, nodes.slice(0, 3), nodes.slice(3), roleEnv);
    } finally {
      await fleet.close();
      await rolesApi.close();
    }
  });
});
