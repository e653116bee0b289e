import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { z } from 'zod/v3';
import { configSchema } from '../../node-agent/src/config/schema';
import { loadConfig, pathToEnvVar } from '../../node-agent/src/config/load';
import { detectionBoundMs } from '../../node-agent/src/membership/failure-policy';
import { BUCKETS } from '../../node-agent/src/store/lww-map';
import { DEFAULT_TUNING } from '../../node-agent/src/tuning';

/**
 * The README's configuration table and the figures it quotes derive from the schema and from
 * DEFAULT_TUNING: a default or a timing changed in code without the README fails here.
 */
const readme = readFileSync('README.md', 'utf8');
const BASE = { MUSTER_NODE__NAME: 'muster@127.0.0.1', MUSTER_NODE__COOKIE: 'a-cookie-long-enough-for-tests' };

/** Every leaf key of the schema, as a dotted path. */
function leafKeys(t: z.ZodTypeAny, prefix = ''): string[] {
  let u: z.ZodTypeAny = t;
  for (;;) {
    if (u instanceof z.ZodEffects) u = u.innerType();
    else if (u instanceof z.ZodDefault) u = u._def.innerType;
    else if (u instanceof z.ZodOptional) u = u.unwrap();
    else break;
  }
  if (u instanceof z.ZodObject) return Object.entries(u.shape as Record<string, z.ZodTypeAny>).flatMap(([k, v]) => leafKeys(v, `${prefix}${k}.`));
  return [prefix.slice(0, -1)];
}

/** The table's rows: key cell expanded (`cluster.ssl.certfile`, `.keyfile` -> two keys), default cell. */
function tableRows(): Map<string, string> {
  const section = readme.slice(readme.indexOf('| key | default | meaning |'));
  const rows = new Map<string, string>();
  for (const line of section.split('\n').slice(2)) {
    if (!line.startsWith('| `')) break;
    const [keyCell, defaultCell] = line.split(' | ').map((c) => c.replace(/^\| /, ''));
    let stem = '';
    for (const [, k] of keyCell.matchAll(/`([^`]+)`/g)) {
      const key = k.startsWith('.') ? stem + k.slice(1) : k;
      stem = key.slice(0, key.lastIndexOf('.') + 1);
      rows.set(key, defaultCell);
    }
  }
  return rows;
}

const valueAt = (cfg: unknown, key: string) => key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], cfg);

describe('README figures derive from the code', () => {
  it('the configuration table lists every key of the schema, and no other', () => {
    const inSchema = leafKeys(configSchema()).sort();
    const inReadme = [...tableRows().keys()].sort();
    assert.deepEqual(inReadme, inSchema);
  });

  it("each default the table writes as a value is the schema's own: setting the key to it changes nothing", () => {
    const defaults = loadConfig({ env: { ...BASE } });
    let checked = 0;
    for (const [key, cell] of tableRows()) {
      const m = /^`([^`]+)`$/.exec(cell.trim());
      if (!m || key.startsWith('node.')) continue;
      const set = loadConfig({ env: { ...BASE, [pathToEnvVar(key.split('.'))]: m[1] } });
      assert.deepEqual(valueAt(set, key), valueAt(defaults, key), `README says ${key} defaults to ${m[1]}`);
      checked++;
    }
    assert.ok(checked >= 15, `only ${checked} defaults checked: the table's format changed?`);
  });

  it('the detection bound the table quotes is the failure policy of the default probe settings', () => {
    const fd = loadConfig({ env: { ...BASE } }).cluster.failure_detector;
    const bound = detectionBoundMs(fd.probe_interval, fd.probe_timeout) / 1000;
    assert.match(readme, new RegExp(`a dead member shows stopped within about interval \\+ 2 × timeout \\(${bound} s\\)`));
  });

  it("the cookie-guessing figures are the guard's tuning", () => {
    const g = DEFAULT_TUNING.guard;
    const s = (ms: number) => (ms >= 60_000 ? `${ms / 60_000} minutes` : ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`);
    for (const phrase of [
      `after ${g.freeFailures} failed proofs`,
      `waits ${s(g.baseDelayMs)}`,
      `up to ${s(g.maxDelayMs)}`,
      `may run ${g.maxHandshakesFailing}\nhandshakes at once (any address ${g.maxHandshakesPerSource})`,
      `forgotten after ${s(g.forgetAfterMs)}`,
    ]) assert.ok(readme.includes(phrase), `README: '${phrase}'`);
    assert.equal(g.reportEveryMs, 60_000, "README: 'then a count every minute'");
  });

  it("a write's wait and the anti-entropy interval are the gossip and sync tuning", () => {
    assert.ok(readme.includes(`wait (up to ${DEFAULT_TUNING.gossip.ackTimeoutMs / 1000} s) for every member`));
    const { antiEntropyIntervalMs: every, antiEntropyJitter: [, hi] } = DEFAULT_TUNING.sync;
    assert.ok(readme.includes(`to one neighbour every ${every / 1000} s`));
    assert.ok(readme.includes(`within about ${Math.ceil((every * hi) / 1000)} s of their being reachable`));
    assert.ok(readme.includes(`(and ${DEFAULT_TUNING.store.compactMinBytes / 1024 / 1024} MiB)`));
  });

  it("the replicants' figures are the roles tuning and the sync's buckets", () => {
    const r = DEFAULT_TUNING.roles;
    const words = ['none', 'one', 'two', 'three', 'four'];
    assert.ok(readme.includes(`links to ${words[r.coreLinks]} of them`), `README: 'links to ${words[r.coreLinks]} of them'`);
    assert.ok(readme.includes(`about R x ${r.coreLinks} / C of R replicants (${Math.round((1000 * r.coreLinks) / 3)} each for 1,000 replicants and 3`), 'README: the spread');
    assert.ok(readme.includes(`at most ${r.maxReplicantLinks.toLocaleString('en-US')} replicant links`), 'README: the cap');
    assert.ok(readme.includes(`gets the ${BUCKETS}ths of the keys that changed`), 'README: the buckets');
  });
});
