// Security groups only from the ENI's subnet's VPC (CreateNetworkInterface, ModifyNetworkInterfaceAttribute).
import type http from 'node:http';
import { errorAnswer, type Answer } from '../answers.js';
import type { ProxyContext } from '../context.js';
import { describeEnis, vpcOfGroup, vpcOfSubnet } from '../lookups.js';

/**
 * EC2's refusal of a create (or a security-group change) whose groups are unknown or outside the VPC of the
 * ENI's subnet, if any.
 */
export async function securityGroupRefusal(ctx: ProxyContext, params: Map<string, string>, headers: http.IncomingHttpHeaders): Promise<Answer | undefined> {
  const groups = [...params].filter(([k]) => /^SecurityGroupId\.\d+$/.test(k)).map(([, v]) => v);
  if (groups.length === 0) return undefined;
  const eniId = params.get('NetworkInterfaceId');
  const eni = eniId ? (await describeEnis(ctx, headers, 'network-interface-id', eniId))?.[0] : undefined;
  const subnet = params.get('SubnetId') ?? eni?.subnetId;
  if (!subnet) return undefined;
  const vpc = eni?.vpcId ?? (await vpcOfSubnet(ctx, headers, subnet));
  if (!vpc) return undefined; // unknown subnet or ENI: moto answers its NotFound
  for (const g of groups) {
    const gv = await vpcOfGroup(ctx, headers, g);
    // moto would create an unknown group on the fly; EC2 refuses it.
    if (gv === undefined) return errorAnswer(400, 'InvalidGroup.NotFound', `The security group '${g}' does not exist`);
    // CreateNetworkInterface: the groups must belong to the subnet's VPC ("... belong to different networks").
    if (gv !== vpc) return errorAnswer(400, 'InvalidParameter', `Security group ${g} and subnet ${subnet} belong to different networks.`);
  }
  return undefined;
}
