import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runBench } from './run';

// The benchmark's smoke run (N = 3, one repetition, both systems), so `npm run bench` cannot rot.
// It checks that every figure was produced for both systems, not how fast anything is.
describe('npm run bench (smoke)', { timeout: 600_000 }, () => {
  it('produces every figure for Muster and Serf, a results table and a plot', async () => {
    const outDir = mkdtempSync(path.join(tmpdir(), 'muster-bench-'));
    const r = await runBench({ ns: [3], musterOnlyNs: [], reps: 1, idleMs: 2000, outDir, rolesN: 6 });
    assert.deepEqual(r.failures, [], 'no measurement failed');
    const both = [
      'formation from launch',
      'formation from last listener',
      'crash detection (SIGKILL)',
      'silent-loss detection (SIGSTOP)',
      'graceful leave propagation',
      'RSS per agent',
      'idle CPU per agent per 2s',
      'idle bytes/s per node (in + out)',
      'partition heal after the link returns',
      'partition heal after a split ends',
    ];
    for (const figure of both) {
      for (const system of ['muster', 'serf']) {
        const f = r.figures.find((x) => x.figure === figure && x.system === system);
        assert.ok(f, `${figure} for ${system}`);
        assert.ok(f.values.every((v) => Number.isFinite(v) && v >= 0), `${figure} for ${system}: ${f.values}`);
      }
    }
    for (const [system, figure] of [
      ['muster 3 cores + replicants', 'idle bytes sent per replicant (frames)'],
      ['muster 3 cores + replicants', 'idle CPU per core per 2s'],
      ['muster cores only', 'idle bytes sent per core (frames)'],
      ['muster cores only', 'formation from last listener'],
      ['muster 3 cores + replicants', 'formation from launch'],
    ]) {
      const f = r.figures.find((x) => x.figure === figure && x.system === system && x.n === 6);
      assert.ok(f && f.values.every((v) => Number.isFinite(v) && v >= 0), `${figure} for ${system}: ${f?.values}`);
    }
    const musterOnly = [
      'formation from launch (etcd discovery)',
      'formation from last listener (etcd discovery)',
      'formation from launch (DNS A discovery)',
      'formation from last listener (DNS A discovery)',
      'cdktf synth of a 100-node stack',
      'agent cold start to listening',
      'CPU from exec to listening (median of 9)',
      'CPU to listening: agent / bare node',
    ];
    assert.ok(r.figures.some((x) => x.figure === 'bare Node.js processes: launch to all listening' && x.system === 'node (reference)'), 'the bare Node.js reference');
    assert.ok(r.figures.some((x) => x.figure === 'CPU from exec to listening (median of 9)' && x.system === 'node (reference)'), "bare node's CPU to listening");
    for (const figure of ['partition heal after the link returns', 'partition heal after a split ends']) {
      const tcp = r.figures.find((x) => x.figure === figure && x.system === 'tcp (reference)');
      assert.ok(tcp && tcp.values.every((v) => Number.isFinite(v) && v >= 0), `the TCP reference beside the ${figure}`);
    }
    for (const figure of musterOnly) assert.ok(r.figures.some((x) => x.figure === figure), figure);
    assert.ok(existsSync(r.file));
    assert.match(readFileSync(r.file, 'utf8'), /\| formation from last listener \| 3 \| serf \|/);
    assert.ok(existsSync(r.file.replace(/\.md$/, '.svg')));
    assert.match(readFileSync(r.file.replace(/\.md$/, '.svg'), 'utf8'), /^<svg /);
  });
});
