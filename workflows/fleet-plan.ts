// Pure decisions of the fleet sweep: which pairs drifted and which ENIs leaked.
import type { EniInfo } from '../common/ec2-contract.js';
import type { RunningPair } from '../activities/fleet.js';
import { TAG_CREATED_AT } from '../common/names.js';

export interface SweepPlan {
  /** Pairs whose recorded ENIs are gone or detached in EC2: signalled to repair. */
  repair: { workflowId: string; eniIds: string[] }[];
  /** ENIs of this cluster that no running pair holds, available, and older than the cool-down: deleted. */
  leaked: string[];
}

export function planSweep(enis: EniInfo[], pairs: RunningPair[], nowMs: number, cooldownMs: number): SweepPlan {
  const byId = new Map(enis.map((e) => [e.eniId, e]));
  const held = new Set(pairs.flatMap((p) => p.eniIds));
  const repair: SweepPlan['repair'] = [];
  for (const p of pairs) {
    // Only pairs at rest: a pair still converging or releasing is already doing the work.
    if (p.phase !== 'Ready') continue;
    const drifted = p.eniIds.filter((id) => {
      const e = byId.get(id);
      return !e || !e.attachment || e.attachment.status === 'detached' || e.status === 'available';
    });
    if (drifted.length) repair.push({ workflowId: p.workflowId, eniIds: drifted });
  }
  const leaked = enis
    .filter((e) => !held.has(e.eniId) && e.status === 'available' && !e.attachment)
    .filter((e) => {
      const created = Date.parse(e.tags[TAG_CREATED_AT] ?? '');
      // No stamp: not provably ours to age out; left alone.
      return Number.isFinite(created) && nowMs - created >= cooldownMs;
    })
    .map((e) => e.eniId);
  return { repair, leaked };
}
