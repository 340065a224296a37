// Which of a NodeENI's subnets a node gets ENIs in. An ENI attaches only to an instance in its subnet's
// availability zone, so a NodeENI may list subnets of several AZs: each node gets one ENI per listed subnet of its
// own AZ, device indexes by position among those. A subnet of another VPC is an error (it can never hold an ENI for
// the node); so is a list with no subnet in the node's AZ. Pure: unit-tested without EC2.

export interface PlacedSubnet {
  id: string;
  az?: string;
  vpcId?: string;
  /** The spec field that named it, for messages. */
  field: string;
}

export interface NodePlacement {
  instanceId: string;
  vpcId?: string;
  az?: string;
}

export type Placement<S> = { ok: true; subnets: S[]; otherAz: S[] } | { ok: false; error: string };

/** The node's subnets, in spec order; or why none can serve it. */
export function subnetsForNode<S extends PlacedSubnet>(subnets: readonly S[], node: NodePlacement): Placement<S> {
  const foreign = subnets.find((s) => s.vpcId && node.vpcId && s.vpcId !== node.vpcId);
  if (foreign) {
    return { ok: false, error: `subnet ${foreign.id} is in ${foreign.vpcId}, not in ${node.vpcId}, the VPC of the node's instance ${node.instanceId} (${foreign.field})` };
  }
  const here = (s: S) => !s.az || !node.az || s.az === node.az;
  const mine = subnets.filter(here);
  const otherAz = subnets.filter((s) => !here(s));
  if (mine.length === 0 && subnets.length > 0) {
    const listed = otherAz.map((s) => `${s.id} (${s.az})`).join(', ');
    const fields = [...new Set(otherAz.map((s) => s.field))].join(', ');
    return {
      ok: false,
      error: `no listed subnet is in ${node.az}, the availability zone of the node's instance ${node.instanceId}: ${listed}; EC2 attaches an ENI only to an instance of its subnet's zone, so list a subnet of ${node.az} too (${fields})`,
    };
  }
  return { ok: true, subnets: mine, otherAz };
}
