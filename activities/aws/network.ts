// A NodeENI's network for one node: its subnets and security groups resolved in the node's VPC, and of its
// subnets those of the node's AZ (activities/aws/subnet-placement.ts). IDs are unique in the account but must be
// of that VPC (and the subnet of its AZ) too, or EC2 refuses the ENI later: both are checked here, naming the
// field, before anything is created.
import { ApplicationFailure } from '@temporalio/activity';
import type { NetworkRefs, ResolvedNetwork } from '../../common/ec2-contract.js';
import { ERROR_TYPES } from '../../common/error-types.js';
import type { InstanceProvider } from './instances.js';
import type { SecurityGroupProvider } from './security-groups.js';
import { subnetsForNode } from './subnet-placement.js';
import type { SubnetProvider } from './subnets.js';

export class NetworkResolver {
  constructor(
    private readonly instances: Pick<InstanceProvider, 'facts'>,
    private readonly subnets: Pick<SubnetProvider, 'resolve'>,
    private readonly groups: Pick<SecurityGroupProvider, 'resolve'>,
  ) {}

  async resolve(refs: NetworkRefs): Promise<ResolvedNetwork> {
    const instance = refs.instanceId ? await this.instances.facts(refs.instanceId) : undefined;
    if (instance && !instance.vpcId) {
      throw ApplicationFailure.nonRetryable(`DescribeInstances: the node's instance ${instance.instanceId} has no VPC (is it terminated?)`, 'InstanceVpcUnknown');
    }
    const vpcId = instance?.vpcId;
    const [subnets, securityGroupIds] = await Promise.all([
      this.subnets.resolve(refs.subnetIds, refs.subnetNames, vpcId),
      this.groups.resolve(refs.securityGroupIds, refs.securityGroupNames, vpcId),
    ]);
    const placed = instance ? subnetsForNode(subnets, instance) : { ok: true as const, subnets };
    if (!placed.ok) throw ApplicationFailure.nonRetryable(placed.error, ERROR_TYPES.networkNotUsable);
    return { subnets: placed.subnets.map(({ field: _field, ...s }) => s), securityGroupIds };
  }
}
