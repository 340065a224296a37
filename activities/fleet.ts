// Activities of the fleet sweep that read Temporal itself: which pairs run and which ENIs they hold.
import { Context } from '@temporalio/activity';
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
    /**
     * Running lifecycle workflows of this installation (its task queue) with the ENIs they hold, from visibility:
     * one paged list, no per-pair call. Another installation's pairs are not this sweep's to judge.
     */
    async listRunningPairs(): Promise<RunningPair[]> {
      const out: RunningPair[] = [];
      const taskQueue = Context.current().info.taskQueue;
      const query = `WorkflowType="${WORKFLOW_TYPE_LIFECYCLE}" AND ExecutionStatus="Running" AND TaskQueue="${taskQueue}"`;
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
