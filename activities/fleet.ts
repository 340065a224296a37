// Activities of the fleet sweep that read Temporal itself: which pairs run and which ENIs they hold.
import type { Client } from '@temporalio/client';
import { WORKFLOW_TYPE_LIFECYCLE } from '../common/names.js';
import { SA_ENI_IDS, SA_ENI_PHASE } from '../common/search-attributes.js';

export interface RunningPair {
  workflowId: string;
  eniIds: string[];
  phase?: string;
}

export function createFleetActivities(deps: { client: Client }) {
  return {
    /** Running lifecycle workflows with the ENIs they hold, from visibility (one paged list, no per-pair call). */
    async listRunningPairs(): Promise<RunningPair[]> {
      const out: RunningPair[] = [];
      const query = `WorkflowType="${WORKFLOW_TYPE_LIFECYCLE}" AND ExecutionStatus="Running"`;
      for await (const wf of deps.client.workflow.list({ query })) {
        out.push({
          workflowId: wf.workflowId,
          eniIds: wf.typedSearchAttributes.get(SA_ENI_IDS) ?? [],
          phase: wf.typedSearchAttributes.get(SA_ENI_PHASE),
        });
      }
      return out;
    },
  };
}

export type FleetActivities = ReturnType<typeof createFleetActivities>;
