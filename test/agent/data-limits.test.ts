import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Fleet, MUSTER, type Agent } from '../support/agents';

// Keys are data, never object properties; the limits are said before anything is sent; large
// values come from standard input or a file. One agent on 127.0.43.2.
describe('data keys and values: limits and odd keys', { timeout: 60_000 }, () => {
  const fleet = new Fleet();
  let a: Agent;
  before(async () => {
    [a] = await fleet.startAll(['muster@127.0.43.2']);
  });
  after(() => fleet.close());

  /** `muster ctl ...` with `input` on standard input (the ctl helper has none). */
  const ctlWithInput = (args: string[], input: string) => {
    const r = spawnSync(process.execPath, [MUSTER, 'ctl', ...args], { input, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', MUSTER_NODE__NAME: a.name, ...a.env }, timeout: 30_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it("'__proto__' is a key like any other: put, get and list all show it", async () => {
    assert.equal((await a.ctl(['data', 'put', '__proto__', 'polluted?'])).code, 0);
    assert.equal((await a.ctl(['data', 'get', '__proto__'])).stdout.trim(), 'polluted?');
    const list = JSON.parse((await a.ctl(['data', 'list', '--json'])).stdout) as Record<string, string>;
    assert.equal(Object.getOwnPropertyDescriptor(list, '__proto__')?.value, 'polluted?');
    assert.match((await a.ctl(['data', 'list'])).stdout, /^__proto__=polluted\?$/m);
  });

  it('an empty or too long key and a too large value are usage errors (exit 2) that say the limit', async () => {
    const empty = await a.ctl(['data', 'put', '', 'v']);
    assert.equal(empty.code, 2, empty.stderr);
    assert.match(empty.stderr, /<key>: must be 1-1024 characters, not 0/);
    const long = await a.ctl(['data', 'get', 'k'.repeat(1025)]);
    assert.equal(long.code, 2);
    assert.match(long.stderr, /<key>: must be 1-1024 characters, not 1025/);
    const big = ctlWithInput(['data', 'put', 'big', '-'], 'x'.repeat(1024 * 1024 + 1));
    assert.equal(big.code, 2, big.stderr);
    assert.match(big.stderr, /<value>: 1048577 characters; at most 1048576 \(1 MiB\)/);
    const neither = await a.ctl(['data', 'put', 'k']);
    assert.equal(neither.code, 2);
    assert.match(neither.stderr, /give the value as an argument, as - \(standard input\) or with --file/);
  });

  it('a value past the argument-list limit goes through standard input or --file', async () => {
    const value = 'v'.repeat(512 * 1024);
    const r = ctlWithInput(['data', 'put', 'from-stdin', '-'], value);
    assert.equal(r.code, 0, r.stderr);
    const file = path.join(fleet.dir, 'value.txt');
    writeFileSync(file, `${value}!`);
    assert.equal((await a.ctl(['data', 'put', 'from-file', '--file', file])).code, 0);
    assert.equal((await a.ctl(['data', 'get', 'from-stdin'])).stdout.trim().length, value.length);
    assert.equal((await a.ctl(['data', 'get', 'from-file'])).stdout.trim(), `${value}!`);
  });
});
