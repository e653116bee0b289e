import pino from 'pino';
import { Connection } from '../../node-agent/src/transport/connection';
import { Fleet, staticSeedsEnv, waitForStatus } from '../support/agents';
import { COOKIE, processUsage } from './clusters';

/** Writers at once, as the issue that set the goal measured (59 puts/s with 32 clients). */
export const DATA_CLIENTS = 32;
const VALUE = 'v'.repeat(1024);

type Add = (figure: string, v: number, unit?: string) => void;

/**
 * Writes on a 3-node cluster on loopback (127.0.35.x): `DATA_CLIENTS` ctl connections to the first
 * node put 1 KB values under new keys until 10,000 keys are held. A put returns when every running
 * member has it on disk, so the rate is what a client sees. Each connection is dialled once: the
 * figure is the write path's, not the handshake's.
 */
export async function dataRound(add: Add, log: (s: string) => void = () => undefined): Promise<void> {
  const names = ['muster@127.0.35.2', 'muster@127.0.35.3', 'muster@127.0.35.4'];
  const fleet = new Fleet({ MUSTER_NODE__COOKIE: COOKIE });
  const agents = names.map((n) => fleet.agent(n, staticSeedsEnv(names)));
  const conns: Connection[] = [];
  try {
    await Promise.all(agents.map((a) => a.start()));
    await waitForStatus(agents, names, [], 30_000, true);
    for (let i = 0; i < DATA_CLIENTS; i++) {
      conns.push(await Connection.dial({ host: agents[0].host, port: 4370, role: 'ctl', localName: `bench${i}@local`, cookie: COOKIE, boot: 'bench', log: pino({ enabled: false }) }));
    }
    let next = 0;
    const putUpTo = async (count: number): Promise<number> => {
      const t0 = Date.now();
      const from = next;
      await Promise.all(
        conns.map(async (c) => {
          for (let k = next++; k < count; k = next++) {
            const r = (await c.request('data-put', { key: `k${k}`, value: VALUE }, 30_000)) as { failed: string[] };
            if (r.failed.length) throw new Error(`put k${k} not acknowledged by ${r.failed.join(', ')}`);
          }
        }),
      );
      next = count;
      return ((count - from) * 1000) / (Date.now() - t0);
    };
    const pid = agents[0].proc!.pid!;
    add('data puts/s, 1 KB values, keys 1-1,000 (3 nodes, 32 clients)', await putUpTo(1000), '/s');
    add('RSS of the written node, 1,000 keys', processUsage(pid).rss / 1e6, 'MB');
    log('data: 1,000 keys written');
    await putUpTo(9000);
    add('data puts/s, 1 KB values, keys 9,001-10,000 (3 nodes, 32 clients)', await putUpTo(10_000), '/s');
    add('RSS of the written node, 10,000 keys', processUsage(pid).rss / 1e6, 'MB');
  } finally {
    for (const c of conns) c.close('done');
    await fleet.close();
  }
}
