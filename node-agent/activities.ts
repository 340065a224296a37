// The node agent's activities, registered on the node's own task queue (`multi-eni-node/<node>`).
// A factory, so the worker, the tests and the demo can each run agents with their own host settings.
import type { NodeAgentActivities } from '../common/node-agent-contract.js';
import { configureInterface } from './configure.js';
import { AgentHost, type NodeAgentOptions } from './host.js';
import { releaseInterface } from './release.js';

export type { NodeAgentOptions } from './host.js';
export { NODE_AGENT_DEFAULTS } from './host.js';

export function createNodeAgentActivities(options: NodeAgentOptions): NodeAgentActivities {
  const host = new AgentHost(options);
  return {
    configureInterface: (input) => configureInterface(host, input),
    releaseInterface: (input) => releaseInterface(host, input),
  };
}
