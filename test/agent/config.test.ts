import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseHocon, parseHoconValue } from '../../node-agent/src/config/hocon';
import { loadConfig } from '../../node-agent/src/config/load';
import { Fleet, muster, waitFor } from '../support/agents';

describe('HOCON subset', () => {
  it('reads the shapes of the seed page', () => {
    const doc = parseHocon(`
      node.name = emqx@s1.emqx.io   # trailing comment
      cluster {
          ## one of manual | static | dns | etcd | k8s
          discovery_strategy  =  static
          static {
              seeds = ["emqx@node1.emqx.com", "emqx@node2.emqx.com"]
          }
          etcd { server = "http://127.0.0.1:2379", prefix: emqxcl, node_ttl = 1m }
      }
      cluster.port = 4370
      // another comment
    `);
    assert.deepEqual(doc, {
      node: { name: 'emqx@s1.emqx.io' },
      cluster: {
        discovery_strategy: 'static',
        static: { seeds: ['emqx@node1.emqx.com', 'emqx@node2.emqx.com'] },
        etcd: { server: 'http://127.0.0.1:2379', prefix: 'emqxcl', node_ttl: '1m' },
        port: 4370,
      },
    });
  });
  it('reads env values in HOCON syntax, including unquoted names with @ and URLs', () => {
    assert.deepEqual(parseHoconValue('[muster@10.0.0.2,muster@10.0.0.3]'), ['muster@10.0.0.2', 'muster@10.0.0.3']);
    assert.equal(parseHoconValue('4370'), 4370);
    assert.equal(parseHoconValue('http://127.0.0.1:2379'), 'http://127.0.0.1:2379');
    assert.equal(parseHoconValue('"quoted"'), 'quoted');
    assert.equal(parseHoconValue('true'), true);
  });
  it('reports the line and column of a syntax error and refuses what it does not support', () => {
    assert.throws(() => parseHocon('node {\n  name = \n}'), /line 2, column 10: a value is missing/);
    assert.throws(() => parseHocon('a = ${b}'), /substitutions/);
    assert.throws(() => parseHocon('include "x.conf"'), /include is not supported/);
    assert.throws(() => parseHocon('a { b = 1'), /missing '}'/);
  });
});

describe('configuration', () => {
  const base = { MUSTER_NODE__NAME: 'muster@127.0.0.2', MUSTER_NODE__COOKIE: 'c' };
  it('has the documented defaults', () => {
    const cfg = loadConfig({ env: base });
    assert.equal(cfg.cluster.name, 'muster');
    assert.equal(cfg.cluster.port, 4370);
    assert.equal(cfg.cluster.proto_dist, 'inet_tcp');
    assert.equal(cfg.cluster.discovery_strategy, 'manual');
    assert.equal(cfg.log.level, 'info');
    assert.equal(cfg.node.role, 'core', 'every node is a core unless configured otherwise (EMQX)');
    assert.match(cfg.node.data_dir, /\/data\/muster@127\.0\.0\.2$/);
    assert.equal(cfg.cluster.failure_detector.probe_interval, 1000);
    assert.equal(cfg.cluster.failure_detector.probe_timeout, 1000);
  });
  it('lets MUSTER_* variables win over the file', () => {
    const fleet = new Fleet();
    try {
      const file = fleet.writeFile('muster.conf', 'node { name = "muster@127.0.0.9", cookie = fromfile }\ncluster.port = 5000\n');
      const cfg = loadConfig({ file, env: { MUSTER_CLUSTER__PORT: '6000' } });
      assert.equal(cfg.node.name, 'muster@127.0.0.9');
      assert.equal(cfg.node.cookie, 'fromfile');
      assert.equal(cfg.cluster.port, 6000);
    } finally {
      void fleet.close();
    }
  });
  it('reads the cookie from node.cookie_file (one trailing newline is not part of it); refuses an empty one', () => {
    const fleet = new Fleet();
    try {
      const file = fleet.writeFile('cookie', 'from-a-file\n');
      assert.equal(loadConfig({ env: { MUSTER_NODE__NAME: 'muster@127.0.0.9', MUSTER_NODE__COOKIE_FILE: file } }).node.cookie, 'from-a-file');
      const empty = fleet.writeFile('empty-cookie', '\n');
      assert.throws(() => loadConfig({ env: { MUSTER_NODE__NAME: 'muster@127.0.0.9', MUSTER_NODE__COOKIE_FILE: empty } }), /node\.cookie_file \(from MUSTER_NODE__COOKIE_FILE\): .* is empty/);
    } finally {
      void fleet.close();
    }
  });
  it('accepts IPv4, IPv6 and FQDN hosts in node names', () => {
    for (const name of ['muster@10.0.0.2', 'node_1-a@s1.emqx.io', 'm@node1.example.com.']) {
      assert.equal(loadConfig({ env: { ...base, MUSTER_NODE__NAME: name } }).node.name, name);
    }
    assert.equal(loadConfig({ env: { ...base, MUSTER_NODE__NAME: 'muster@::1', MUSTER_CLUSTER__PROTO_DIST: 'inet6_tcp' } }).node.name, 'muster@::1');
  });
  it('a node whose host is a full 253-character domain name gets a data directory a file system takes', () => {
    const host = `${Array.from({ length: 3 }, () => 'a'.repeat(63)).join('.')}.${'a'.repeat(57)}.io`;
    const cfg = loadConfig({ env: { ...base, MUSTER_NODE__NAME: `muster@${host}` } });
    assert.equal(cfg.node.name, `muster@${host}`);
    assert.ok(Buffer.byteLength(path.basename(cfg.node.data_dir)) <= 255, path.basename(cfg.node.data_dir));
    assert.match(path.basename(cfg.node.data_dir), /^muster@a+\.a+\.a+\.a+-[0-9a-f]{16}$/);
  });
  it('takes MUSTER_NODE_NAME and MUSTER_NODE_COOKIE as EMQX takes EMQX_NODE_NAME; the double-underscore form wins', () => {
    const one = loadConfig({ env: { MUSTER_NODE_NAME: 'muster@10.0.0.9', MUSTER_NODE_COOKIE: 'a-cookie-from-the-quick-start' } });
    assert.equal(one.node.name, 'muster@10.0.0.9');
    assert.equal(one.node.cookie, 'a-cookie-from-the-quick-start');
    const both = loadConfig({ env: { MUSTER_NODE_NAME: 'muster@10.0.0.9', MUSTER_NODE__NAME: 'muster@10.0.0.10', MUSTER_NODE__COOKIE: 'the-double-underscore-one' } });
    assert.equal(both.node.name, 'muster@10.0.0.10');
  });
  it('reads a file with a byte-order mark and CRLF line ends, as editors on other systems write it', () => {
    assert.deepEqual(parseHocon('\uFEFFnode.name = muster@10.0.0.2\r\ncluster {\r\n  port = 4371\r\n}\r\n'), { node: { name: 'muster@10.0.0.2' }, cluster: { port: 4371 } });
  });
});

describe('muster agent refuses bad configuration with exit code 2', { timeout: 60_000 }, () => {
  const fleet = new Fleet();
  after(() => fleet.close());
  const ok = { MUSTER_NODE__NAME: 'muster@127.0.4.2', MUSTER_NODE__COOKIE: 'c' };
  const cases: [string, Record<string, string>, RegExp][] = [
    ['missing node name', { MUSTER_NODE__COOKIE: 'c' }, /node\.name: is required/],
    ['missing cookie (there is no default)', { MUSTER_NODE__NAME: 'muster@127.0.4.2' }, /node\.cookie: is required/],
    ['empty cookie', { ...ok, MUSTER_NODE__COOKIE: '""' }, /node\.cookie \(from MUSTER_NODE__COOKIE\): must not be empty/],
    ['name without @', { ...ok, MUSTER_NODE__NAME: 'muster' }, /node\.name \(from MUSTER_NODE__NAME\): 'muster' must be name@host/],
    ['host that is not fully qualified', { ...ok, MUSTER_NODE__NAME: 'muster@localhost' }, /invalid host part 'localhost'.*fully qualified domain name/],
    ['bad characters in the name part', { ...ok, MUSTER_NODE__NAME: 'mu.ster@10.0.0.1' }, /invalid name part 'mu\.ster'/],
    ['IPv4 out of range', { ...ok, MUSTER_NODE__NAME: 'muster@10.0.0.300' }, /invalid host part '10\.0\.0\.300'/],
    ['port out of range', { ...ok, MUSTER_CLUSTER__PORT: '70000' }, /cluster\.port \(from MUSTER_CLUSTER__PORT\): must be 1-65535/],
    ['ready_min_nodes that is not a whole number', { ...ok, MUSTER_CLUSTER__READY_MIN_NODES: '1.5' }, /cluster\.ready_min_nodes \(from MUSTER_CLUSTER__READY_MIN_NODES\): must be a whole number/],
    ['an empty etcd prefix', { ...ok, MUSTER_CLUSTER__ETCD__PREFIX: '""' }, /cluster\.etcd\.prefix \(from MUSTER_CLUSTER__ETCD__PREFIX\): must not be empty/],
    ['an empty list of TLS versions', { ...ok, MUSTER_CLUSTER__SSL__VERSIONS: '[]' }, /cluster\.ssl\.versions \(from MUSTER_CLUSTER__SSL__VERSIONS\): must not be an empty list/],
    ['port not a number', { ...ok, MUSTER_CLUSTER__PORT: 'http' }, /cluster\.port \(from MUSTER_CLUSTER__PORT\): expected number, got 'http'/],
    ['unknown strategy', { ...ok, MUSTER_CLUSTER__DISCOVERY_STRATEGY: 'gossip' }, /cluster\.discovery_strategy \(from MUSTER_CLUSTER__DISCOVERY_STRATEGY\): 'gossip' is not allowed; allowed: manual \| static \| dns \| etcd \| k8s/],
    ['unknown proto_dist', { ...ok, MUSTER_CLUSTER__PROTO_DIST: 'udp' }, /cluster\.proto_dist .*'udp' is not allowed; allowed: inet_tcp \| inet6_tcp \| inet_tls \| inet6_tls/],
    ['unknown key', { ...ok, MUSTER_CLUSTER__PROT: '1' }, /cluster\.prot \(from MUSTER_CLUSTER__PROT\): unknown key/],
    ['bad duration', { ...ok, MUSTER_CLUSTER__FAILURE_DETECTOR__PROBE_TIMEOUT: '3 seconds' }, /cluster\.failure_detector\.probe_timeout .*'3 seconds' must be a duration/],
    ['bad log level', { ...ok, MUSTER_LOG__LEVEL: 'loud' }, /log\.level .*'loud' is not allowed; allowed: debug \| info \| warn \| error/],
    ['a malformed static seed', { ...ok, MUSTER_CLUSTER__DISCOVERY_STRATEGY: 'static', MUSTER_CLUSTER__STATIC__SEEDS: '[muster@127.0.4.2,muster-127.0.4.3]' }, /cluster\.static\.seeds\.1 \(from MUSTER_CLUSTER__STATIC__SEEDS\): 'muster-127\.0\.4\.3' must be name@host/],
    ['seeds that are not a list', { ...ok, MUSTER_CLUSTER__STATIC__SEEDS: 'muster@127.0.4.2' }, /cluster\.static\.seeds .*expected array, got 'muster@127\.0\.4\.2'/],
    ['static without seeds', { ...ok, MUSTER_CLUSTER__DISCOVERY_STRATEGY: 'static' }, /cluster\.static\.seeds: is required when discovery_strategy = static/],
    ['dns without a name', { ...ok, MUSTER_CLUSTER__DISCOVERY_STRATEGY: 'dns' }, /cluster\.dns\.name: is required when discovery_strategy = dns/],
    ['unknown DNS record type', { ...ok, MUSTER_CLUSTER__DNS__RECORD_TYPE: 'mx' }, /cluster\.dns\.record_type .*'mx' is not allowed; allowed: a \| aaaa \| srv/],
    ['a DNS server that is not ip:port', { ...ok, MUSTER_CLUSTER__DNS__SERVERS: '[ns1.example.com]' }, /cluster\.dns\.servers\.0 .*'ns1\.example\.com' must be an IP address with an optional port/],
    ['etcd without a server', { ...ok, MUSTER_CLUSTER__DISCOVERY_STRATEGY: 'etcd' }, /cluster\.etcd\.server: is required when discovery_strategy = etcd/],
    ['an etcd URL that is not a URL', { ...ok, MUSTER_CLUSTER__DISCOVERY_STRATEGY: 'etcd', MUSTER_CLUSTER__ETCD__SERVER: 'http://127.0.0.1:2379,127.0.0.2:2379' }, /cluster\.etcd\.server .*'127\.0\.0\.2:2379' is not an http:\/\/ or https:\/\/ URL/],
    ['a bad node_ttl', { ...ok, MUSTER_CLUSTER__ETCD__NODE_TTL: 'forever' }, /cluster\.etcd\.node_ttl .*'forever' must be a duration/],
    ['a k8s apiserver that is not a URL', { ...ok, MUSTER_CLUSTER__K8S__APISERVER: 'kubernetes' }, /cluster\.k8s\.apiserver .*must be an http:\/\/ or https:\/\/ URL/],
    ['unknown k8s address type', { ...ok, MUSTER_CLUSTER__K8S__ADDRESS_TYPE: 'pod' }, /cluster\.k8s\.address_type .*'pod' is not allowed; allowed: ip \| dns \| hostname/],
    ['TLS without its files', { ...ok, MUSTER_CLUSTER__PROTO_DIST: 'inet_tls' }, /cluster\.ssl\.certfile: is required when proto_dist = inet_tls \(PEM file\)/],
    ['verify_none', { ...ok, MUSTER_CLUSTER__SSL__VERIFY: 'verify_none' }, /cluster\.ssl\.verify .*only verify_peer: Muster never falls back to an unverified connection/],
    ['a TLS file that cannot be read', { ...ok, MUSTER_CLUSTER__PROTO_DIST: 'inet_tls', MUSTER_CLUSTER__SSL__CERTFILE: '/nonexistent.crt', MUSTER_CLUSTER__SSL__KEYFILE: '/nonexistent.key', MUSTER_CLUSTER__SSL__CACERTFILE: '/nonexistent-ca.crt' }, /cluster\.ssl\.certfile \/nonexistent\.crt: cannot be read \(ENOENT\)/],
    ['env value that is not HOCON', { ...ok, MUSTER_CLUSTER__STATIC: '{ seeds = [' }, /cluster\.static \(from MUSTER_CLUSTER__STATIC\): value is not valid HOCON/],
    ['both a cookie and a cookie file', { ...ok, MUSTER_NODE__COOKIE_FILE: '/etc/hostname' }, /node\.cookie_file \(from MUSTER_NODE__COOKIE_FILE\): set either node\.cookie or node\.cookie_file, not both/],
    ['a duration past what the key allows', { ...ok, MUSTER_CLUSTER__FAILURE_DETECTOR__PROBE_INTERVAL: '99999999999999999h' }, /cluster\.failure_detector\.probe_interval \(from MUSTER_CLUSTER__FAILURE_DETECTOR__PROBE_INTERVAL\): '99999999999999999h' is too long: at most 1m/],
    ['an autoclean past a year', { ...ok, MUSTER_CLUSTER__AUTOCLEAN: '400d' }, /cluster\.autoclean .*'400d' is too long: at most 365d/],
    ['20,000-deep nesting', { ...ok, MUSTER_CLUSTER__STATIC__SEEDS: '['.repeat(20_000) }, /cluster\.static\.seeds \(from MUSTER_CLUSTER__STATIC__SEEDS\): value is not valid HOCON: .*nest deeper than 64 levels/],
    ['an IPv6 node name with inet_tcp', { ...ok, MUSTER_NODE__NAME: 'muster@::1' }, /node\.name \(from MUSTER_NODE__NAME\): 'muster@::1' has an IPv6 address, but cluster\.proto_dist = inet_tcp: use inet6_tcp/],
    ['a 400-character node name', { ...ok, MUSTER_NODE__NAME: `${'n'.repeat(390)}@10.0.0.2` }, /node\.name \(from MUSTER_NODE__NAME\): 'n+\.\.\.' has a name part of 390 characters: at most 64/],
    ['a well-known default cookie', { ...ok, MUSTER_NODE__COOKIE: 'emqxsecretcookie' }, /node\.cookie \(from MUSTER_NODE__COOKIE\): 'emqxsecretcookie' is a well-known default anyone would guess/],
    ['the name of the product as the cookie', { ...ok, MUSTER_NODE__COOKIE: 'Muster' }, /node\.cookie .*'Muster' is a well-known default/],
    ['a cookie of spaces', { ...ok, MUSTER_NODE__COOKIE: '"   "' }, /node\.cookie \(from MUSTER_NODE__COOKIE\): is only whitespace/],
    ['an unknown node role', { ...ok, MUSTER_NODE__ROLE: 'worker' }, /node\.role \(from MUSTER_NODE__ROLE\): 'worker' is not allowed; allowed: core \| replicant/],
    ['a replicant with manual discovery', { ...ok, MUSTER_NODE__ROLE: 'replicant' }, /node\.role \(from MUSTER_NODE__ROLE\): replicant needs cluster\.discovery_strategy = static, dns, etcd or k8s \(it is manual\): a replicant finds its core nodes through discovery, and manual clustering \(cluster join\) is for core nodes only/],
    ['a cookie file that cannot be read', { MUSTER_NODE__NAME: 'muster@127.0.4.2', MUSTER_NODE__COOKIE_FILE: '/nonexistent/cookie' }, /node\.cookie_file \(from MUSTER_NODE__COOKIE_FILE\): \/nonexistent\/cookie cannot be read \(ENOENT\)/],
  ];
  for (const [what, env, re] of cases) {
    it(what, async () => {
      const r = await muster(['agent'], env);
      assert.equal(r.code, 2, `${r.stdout}${r.stderr}`);
      assert.match(r.stderr, re);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    });
  }
  it('a short cookie starts, with a warning that says how to make a good one', async () => {
    const a = fleet.agent('muster@127.0.4.9', { MUSTER_NODE__COOKIE: 'short' });
    await a.start();
    await waitFor(() => a.logged(/the cookie is 5 characters long: anyone who guesses it is a member of the cluster; use 16 or more \(openssl rand -base64 32\)/), 5000, 'the warning');
    await a.signal('SIGTERM');
  });

  it('an agent that exits at start fails whoever waits for it to listen at once, with what it said', async () => {
    const a = fleet.agent('muster@127.0.4.10', { MUSTER_NODE__ROLE: 'worker' });
    const started = Date.now();
    await assert.rejects(a.start({}, 20_000), (e: Error) => {
      assert.match(e.message, /muster@127\.0\.4\.10 exited before it listened \(code 2, signal null\)/);
      assert.match(e.message, /node\.role \(from MUSTER_NODE__ROLE\): 'worker' is not allowed/);
      return true;
    });
    assert.ok(Date.now() - started < 10_000, `told after ${Date.now() - started} ms, not at the 20 s timeout`);
  });

  it('an unknown tuning profile is a usage error naming the profiles', async () => {
    const r = await muster(['agent', '--tuning', 'quick'], { MUSTER_NODE__NAME: 'muster@127.0.0.1', MUSTER_NODE__COOKIE: 'a-cookie-long-enough-for-tests' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--tuning <profile>' argument 'quick' is invalid\. Allowed choices are default, fast\./);
  });

  it('reports every problem at once, one line each', async () => {
    const r = await muster(['agent'], { MUSTER_NODE__NAME: 'bad', MUSTER_CLUSTER__PORT: '0' });
    assert.equal(r.code, 2);
    assert.deepEqual(
      r.stderr.trim().split('\n').map((l) => l.replace(/:.*/, '')),
      ['muster', 'muster', 'muster'],
    );
    assert.match(r.stderr, /node\.name/);
    assert.match(r.stderr, /node\.cookie/);
    assert.match(r.stderr, /cluster\.port/);
  });
  it('a syntax error in the file names the file, line and column', async () => {
    const file = fleet.writeFile('bad.conf', 'node {\n  name = muster@127.0.4.2\n  cookie = \n}\n');
    const r = await muster(['agent', '--config', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad\.conf: line 3, column 12: a value is missing/);
  });
  it('a missing file is named', async () => {
    const r = await muster(['agent', '--config', '/nonexistent/muster.conf']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /\/nonexistent\/muster\.conf: cannot be read \(ENOENT\)/);
  });
  it('bad ctl usage exits 2', async () => {
    const r = await muster(['ctl', 'cluster', 'jion', 'x@1.2.3.4'], ok);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command 'jion'/);
    const missing = await muster(['ctl', 'cluster', 'join'], ok);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing required argument 'node'/);
  });
  it('ctl to a node that is not running fails with exit 1 and one clear line', async () => {
    const r = await muster(['ctl', 'ping'], ok);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), 'muster: cannot connect to 127.0.4.2:4370: ECONNREFUSED');
  });
  it('the node name is fixed once a data dir holds state', async () => {
    const a = fleet.agent('muster@127.0.4.3');
    await a.start();
    await a.signal('SIGTERM');
    const r = await muster(['agent'], { MUSTER_NODE__NAME: 'muster@127.0.4.4', MUSTER_NODE__COOKIE: 'c', MUSTER_NODE__DATA_DIR: a.dataDir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /holds the state of muster@127\.0\.4\.3, not muster@127\.0\.4\.4/);
  });
});
