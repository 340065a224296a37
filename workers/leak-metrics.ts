// Counts the leaked ENIs the fleet sweep deletes. The sweep and the pairs call the same deleteEni activity; the
// calling workflow's type tells a leak (the sweep's delete) from a pair's own release.
import { Context } from '@temporalio/activity';
import { WORKFLOW_TYPE_FLEET } from '../common/names.js';

/** The type of the workflow that scheduled the running activity (undefined outside an activity). */
export function callingWorkflowType(): string | undefined {
  try {
    return Context.current().info.workflowType;
  } catch {
    return undefined;
  }
}

/** The same deleteEni, telling `onLeakDeleted` of each delete that succeeded for the fleet sweep. */
export function countLeakDeletes<A extends { deleteEni(input: { eniId: string }): Promise<void> }>(
  activities: A,
  onLeakDeleted: () => void,
  workflowType: () => string | undefined = callingWorkflowType,
): A {
  const deleteEni = activities.deleteEni.bind(activities);
  return {
    ...activities,
    deleteEni: async (input: { eniId: string }) => {
      await deleteEni(input);
      if (workflowType() === WORKFLOW_TYPE_FLEET) onLeakDeleted();
    },
  };
}
