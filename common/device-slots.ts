// What decides whether an ENI may go onto a node's instance, and where: the instance must carry this cluster's
// tag, and the device index is the one asked for or the next free one below the instance type's interface limit.
// Pure; shared by the EC2 activities (at attach time) and the lifecycle (before it creates an ENI).

/** The tag EKS, eksctl and Karpenter put on a cluster's instances (value `owned` or `shared`). */
export const clusterTagKey = (clusterName: string) => `kubernetes.io/cluster/${clusterName}`;

export interface InstanceFacts {
  instanceId: string;
  vpcId?: string;
  az?: string;
  instanceType?: string;
  tags: Record<string, string>;
  /** The instance type's MaximumNetworkInterfaces (DescribeInstanceTypes), when known. */
  maxInterfaces?: number;
  /** The instance type's Ipv4AddressesPerInterface (DescribeInstanceTypes), when known. */
  maxIpv4PerInterface?: number;
}

/** Why the controller will not touch this instance, or undefined when it belongs to the cluster. */
export function notInCluster(facts: InstanceFacts, clusterName: string): string | undefined {
  const value = facts.tags[clusterTagKey(clusterName)];
  if (value === 'owned' || value === 'shared') return undefined;
  return (
    `instance ${facts.instanceId} does not carry the tag ${clusterTagKey(clusterName)}=owned|shared` +
    `${value === undefined ? '' : ` (it has '${value}')`}: the controller attaches ENIs only to instances of cluster '${clusterName}' (CLUSTER_NAME)`
  );
}

/**
 * The device index to attach at: `requested` when free, else the next free one above it, below the instance
 * type's limit when known. Undefined when no slot is left.
 */
export function freeDeviceIndex(requested: number, used: Iterable<number>, maxInterfaces?: number): number | undefined {
  const taken = new Set(used);
  if (maxInterfaces !== undefined && taken.size >= maxInterfaces) return undefined;
  for (let i = requested; maxInterfaces === undefined || i < maxInterfaces; i++) if (!taken.has(i)) return i;
  return undefined;
}

/** The message of an instance with no slot left for the ENI. */
export function noFreeSlotMessage(facts: Pick<InstanceFacts, 'instanceId' | 'instanceType' | 'maxInterfaces'>, used: readonly number[], requested: number): string {
  const limit = facts.maxInterfaces === undefined ? '' : ` (${facts.instanceType ?? 'its instance type'} takes ${facts.maxInterfaces} network interfaces)`;
  return `no free device index at or above ${requested} on ${facts.instanceId}${limit}; in use: ${[...used].sort((a, b) => a - b).join(', ') || 'none'}`;
}
