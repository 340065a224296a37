// Cluster-wide numbers for Prometheus, computed from the NodeENIs' status as the leader's informer cache holds it.
// Only the leader has a synced cache, so only the leader exports them: with several replicas nothing is counted
// twice, and a replica's view never goes stale after it stops leading. Pure.
import { ATTACHMENT_PHASES, type NodeENI } from '../common/nodeeni.js';
import { CONDITION_READY } from './conditions.js';

/** Attachments without a phase (written by an older controller) count as this. */
export const UNKNOWN_PHASE = 'Unknown';

export interface ClusterSnapshot {
  /** Attachments in status by phase; every phase is present (0 when none), so a series never vanishes. */
  attachmentsByPhase: Record<string, number>;
  /** NodeENIs by their Ready condition's status (True, False, Unknown when absent). */
  nodeENIsByReady: Record<'True' | 'False' | 'Unknown', number>;
  /**
   * Per NodeENI that is Ready=False: for how long, in seconds (since its condition's lastTransitionTime). A NodeENI
   * being deleted is left out (its release is not a NodeENI failing to come up).
   */
  notReadySeconds: Record<string, number>;
}

export function clusterSnapshot(nodeENIs: readonly Pick<NodeENI, 'metadata' | 'status'>[], nowMs: number): ClusterSnapshot {
  const attachmentsByPhase: Record<string, number> = Object.fromEntries([...ATTACHMENT_PHASES, UNKNOWN_PHASE].map((p) => [p, 0]));
  const nodeENIsByReady = { True: 0, False: 0, Unknown: 0 };
  const notReadySeconds: Record<string, number> = {};
  for (const n of nodeENIs) {
    for (const a of n.status?.attachments ?? []) {
      const phase = a.phase ?? UNKNOWN_PHASE;
      attachmentsByPhase[phase] = (attachmentsByPhase[phase] ?? 0) + 1;
    }
    const ready = n.status?.conditions?.find((c) => c.type === CONDITION_READY);
    nodeENIsByReady[ready?.status ?? 'Unknown']++;
    if (ready?.status === 'False' && !n.metadata.deletionTimestamp) {
      const since = Date.parse(ready.lastTransitionTime);
      if (Number.isFinite(since)) notReadySeconds[n.metadata.name] = Math.max(0, (nowMs - since) / 1000);
    }
  }
  return { attachmentsByPhase, nodeENIsByReady, notReadySeconds };
}
