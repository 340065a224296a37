// Test workflows that drive a node agent through Temporal, as the lifecycle workflow does: activities on the
// node's own task queue, imported as types only.
import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { ConfigureInterfaceInput, ConfigureInterfaceResult, NodeAgentActivities, ReleaseInterfaceResult } from '../../../common/node-agent-contract.js';
import { nodeTaskQueue } from '../../../common/names.js';

function agentOn(nodeName: string): NodeAgentActivities {
  return proxyActivities<NodeAgentActivities>({
    taskQueue: nodeTaskQueue(nodeName),
    // A per-node queue waits forever if that node is gone: bound it.
    scheduleToCloseTimeout: '2 minutes',
    startToCloseTimeout: '1 minute',
    heartbeatTimeout: '10 seconds',
    retry: { maximumAttempts: 3, initialInterval: '200 milliseconds' },
  });
}

export interface RoundTripResult {
  configured: ConfigureInterfaceResult;
  repeated: ConfigureInterfaceResult;
  released: ReleaseInterfaceResult;
}

/** configure, configure again (idempotent), release. */
export async function agentRoundTrip(nodeName: string, input: ConfigureInterfaceInput): Promise<RoundTripResult> {
  const agent = agentOn(nodeName);
  const configured = await agent.configureInterface(input);
  const repeated = await agent.configureInterface(input);
  const released = await agent.releaseInterface({ nodeENI: input.nodeENI, eniId: input.eniId, macAddress: input.macAddress });
  return { configured, repeated, released };
}

export interface ConfigureFailure {
  type?: string;
  nonRetryable?: boolean;
  message: string;
}

/** configure that is expected to fail: returns the node agent's failure as the workflow sees it. */
export async function agentConfigureFailure(nodeName: string, input: ConfigureInterfaceInput): Promise<ConfigureFailure | undefined> {
  try {
    await agentOn(nodeName).configureInterface(input);
    return undefined;
  } catch (err) {
    if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
      return { type: err.cause.type ?? undefined, nonRetryable: err.cause.nonRetryable ?? undefined, message: err.cause.message };
    }
    throw err;
  }
}
