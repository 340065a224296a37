// The fleet sweep, run on a schedule: one bulk describe of this cluster's ENIs and one visibility list,
// then signals only the pairs that drifted and deletes ENIs that leaked. Pairs at rest cost nothing.
import { getExternalWorkflowHandle, log, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Ec2Activities } from '../common/ec2-contract.js';
import type { FleetActivities } from '../activities/fleet.js';
import type { RepairRequest } from '../common/lifecycle-contract.js';
import { SIGNAL_REPAIR } from '../common/names.js';
import { planSweep } from './fleet-plan.js';

const options: ActivityOptions = { startToCloseTimeout: '2m', retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5 } };
const ec2 = proxyActivities<Ec2Activities>(options);
const fleet = proxyActivities<FleetActivities>(options);

export interface FleetSweepInput {
  /** ENIs younger than this are never deleted as leaks (a pair may be about to record them). */
  leakCooldownSeconds: number;
}

export interface FleetSweepResult {
  scanned: number;
  repaired: string[];
  deleted: string[];
}

export async function eniFleetSweep(input: FleetSweepInput): Promise<FleetSweepResult> {
  const [enis, pairs] = await Promise.all([
    ec2.listClusterEnis.executeWithOptions({ ...options, summary: "describe this cluster's ENIs (bulk)" }, []),
    fleet.listRunningPairs.executeWithOptions({ ...options, summary: 'list running ENI lifecycles' }, []),
  ]);
  const plan = planSweep(enis, pairs, Date.now(), input.leakCooldownSeconds * 1000);
  for (const r of plan.repair) {
    const payload: RepairRequest = { reason: 'fleet sweep: ENI deleted or detached outside the controller', eniIds: r.eniIds };
    try {
      await getExternalWorkflowHandle(r.workflowId).signal(SIGNAL_REPAIR, payload);
    } catch (err) {
      log.warn('could not signal a pair to repair', { workflowId: r.workflowId, error: String(err) });
    }
  }
  for (const eniId of plan.leaked) {
    await ec2.deleteEni.executeWithOptions({ ...options, summary: `delete leaked ENI ${eniId}` }, [{ eniId }]);
  }
  return { scanned: enis.length, repaired: plan.repair.map((r) => r.workflowId), deleted: plan.leaked };
}
