import type { ClusterNode } from './cluster';
import { mayAutoclean } from './failure-policy';

/**
 * EMQX's `cluster.autoclean` (ekka_autoclean): members stopped for longer than it are removed from
 * the cluster, by the majority side only, so a partition's minority never removes the majority.
 * Run by core nodes only, on the cores' majority; replicants stopped that long are removed too.
 * Not awaited (maintenance runs on a timer): a failed removal is logged and tried at the next look.
 */
export function autoclean(n: ClusterNode, now: number): void {
  const after = n.cfg.cluster.autoclean;
  if (after <= 0) return;
  const names = n.memberNames();
  const running = n.runningNodes();
  const stopped = names.filter((m) => !running.includes(m));
  if (!stopped.length) return;
  const overdue = n.partitions.downFor(stopped, after, now);
  if (!overdue.length) return;
  // Only cores decide (replicants come and go); the majority is of the cores.
  if (!mayAutoclean(n.coreNames(), n.runningCores())) {
    n.log.debug({ overdue }, 'autoclean on hold: this side of the cluster is not the majority');
    return;
  }
  for (const m of overdue) {
    n.joins.removeMember(m, 'autoclean').catch((e: Error) => n.log.error({ peer: m, err: e.message }, `autoclean could not remove ${m}: ${e.message}; trying again at the next look`));
  }
}
