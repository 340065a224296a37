// Stable names users query by (DESIGN.md "Names"). Changing any of these breaks users' queries and adoption.

export const API_GROUP = 'networking.k8s.aws';
export const API_VERSION = 'v1alpha1';
export const NODEENI_KIND = 'NodeENI';
export const NODEENI_PLURAL = 'nodeenis';
export const NODEENI_API_VERSION = `${API_GROUP}/${API_VERSION}`;
/** The Go controller's finalizer, kept so NodeENIs it managed migrate without edits. */
export const NODEENI_FINALIZER = 'nodeeni.networking.k8s.aws/finalizer';

export const WORKFLOW_TYPE_LIFECYCLE = 'eniLifecycle';
export const WORKFLOW_TYPE_FLEET = 'eniFleetSweep';
export const FLEET_SCHEDULE_ID = 'multi-eni-fleet-sweep';

export const CONTROLLER_TASK_QUEUE = 'multi-eni-controller';
/** Kubernetes activities of the lifecycles on `controllerQueue`: same workers, outside the EC2 rate limit. */
export function kubeTaskQueue(controllerQueue: string): string {
  return `${controllerQueue}-kube`;
}
export function nodeTaskQueue(nodeName: string): string {
  return `multi-eni-node/${nodeName}`;
}

export function lifecycleWorkflowId(nodeENI: string, nodeName: string): string {
  return `nodeeni/${nodeENI}/${nodeName}`;
}
export function parseLifecycleWorkflowId(id: string): { nodeENI: string; nodeName: string } | undefined {
  const m = /^nodeeni\/([^/]+)\/([^/]+)$/.exec(id);
  return m ? { nodeENI: m[1]!, nodeName: m[2]! } : undefined;
}

/** Signals and queries of the lifecycle workflow. */
export const SIGNAL_SPEC = 'spec';
export const SIGNAL_RELEASE = 'release';
export const SIGNAL_REPAIR = 'repair';
export const QUERY_STATE = 'state';

/** Search attributes, all Keyword except EniIds (a pair holds one ENI per subnet, so a list). */
export const SEARCH_ATTRIBUTES = {
  NodeENI: 'Keyword',
  NodeName: 'Keyword',
  InstanceId: 'Keyword',
  EniIds: 'KeywordList',
  EniPhase: 'Keyword',
} as const;
export type SearchAttributeName = keyof typeof SEARCH_ATTRIBUTES;

/** ENI tags: the Go controller's keys (so its ENIs can be adopted), plus ours for the sweeper. */
export const TAG_NODEENI = 'NodeENI';
export const TAG_NODE = 'Node';
export const TAG_SUBNET = 'SubnetID';
export const TAG_NAME = 'Name';
export const TAG_NO_MANAGE = 'node.k8s.amazonaws.com/no_manage';
export const TAG_GO_MANAGED_BY = 'kubernetes.io/cluster/managed-by';
export const TAG_CLUSTER = 'multi-eni.networking.k8s.aws/cluster';
export const TAG_CREATED_AT = 'multi-eni.networking.k8s.aws/created-at';

export const FIELD_MANAGER_WATCHER = 'multi-eni-watcher';
/** The controller worker's status writes (every pair's attachments, coalesced per NodeENI). */
export const FIELD_MANAGER_CONTROLLER = 'multi-eni-controller';

export const EVENT_SOURCE = 'multi-eni-controller';
