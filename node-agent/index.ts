// The node agent: activities a per-node Temporal worker runs (workers/node-agent.ts), and their parts.
export { createNodeAgentActivities, NODE_AGENT_DEFAULTS, type NodeAgentOptions } from './activities.js';
export { parseNodeAgentConfig, NodeAgentEnvSchema, type NodeAgentConfig } from './config.js';
export { kubeDevicePluginRestarter } from './device-plugin.js';
export { ImdsClient, ImdsError, type ImdsOptions } from './imds.js';
export type { DevicePluginRestarter } from './sriov.js';
export type { SysfsWriteObserver } from './sysfs.js';
