// Subnets by ID (anywhere in the account) or by Name tag (in the node's VPC), cached for a while: a fleet's pairs
// name the same few subnets. Concurrent lookups of the same references share one describe.
import { ApplicationFailure } from '@temporalio/activity';
import type { Subnet } from '@aws-sdk/client-ec2';
import type { ResolvedSubnet } from '../../common/ec2-contract.js';
import { CachedLoad } from '../ttl-cache.js';
import type { Ec2Api } from './ec2-api.js';
import { ec2Call } from './ec2-failure.js';
import { ambiguousName, hasNameTag, inTheNodesVpc, inVpc, lookupKey } from './vpc-names.js';

/** A resolved subnet and the spec field that named it (for the messages that blame it). */
export type FieldedSubnet = ResolvedSubnet & { field: string };
export const SUBNET_ID_FIELD = 'spec.subnetID/subnetIDs';
export const SUBNET_NAME_FIELD = 'spec.subnetName/subnetNames';

const fielded = (s: Subnet, field: string): FieldedSubnet => ({ id: s.SubnetId!, cidr: s.CidrBlock, az: s.AvailabilityZone, vpcId: s.VpcId, field });

export class SubnetProvider {
  private readonly cache: CachedLoad<FieldedSubnet[]>;

  constructor(
    private readonly ec2: Pick<Ec2Api, 'describeSubnets'>,
    ttlMs: number,
  ) {
    this.cache = new CachedLoad(ttlMs);
  }

  /** The subnets named by ID, then by name (each once, in that order); fails naming the first one not found. */
  async resolve(ids: string[], names: string[], vpcId?: string): Promise<FieldedSubnet[]> {
    return this.cache.get(lookupKey(ids, names, vpcId), () => this.load(ids, names, vpcId));
  }

  private async load(ids: string[], names: string[], vpcId?: string): Promise<FieldedSubnet[]> {
    const byId = ids.length ? await this.byIds(ids) : [];
    const byName = names.length ? await this.byNames(names, vpcId) : [];
    const seen = new Set<string>();
    return [...byId, ...byName].filter((s) => (seen.has(s.id) ? false : (seen.add(s.id), true)));
  }

  private async byIds(ids: string[]): Promise<FieldedSubnet[]> {
    // A filter, not SubnetIds: EC2 then answers with what exists, and the missing ID is named exactly.
    const r = await ec2Call('DescribeSubnets', () => this.ec2.describeSubnets({ Filters: [{ Name: 'subnet-id', Values: ids }] }));
    return ids.map((id) => {
      const s = r.Subnets?.find((x) => x.SubnetId === id);
      if (!s) throw ApplicationFailure.nonRetryable(`DescribeSubnets: InvalidSubnetID.NotFound: The subnet ID '${id}' does not exist (${SUBNET_ID_FIELD})`, 'InvalidSubnetID.NotFound');
      return fielded(s, SUBNET_ID_FIELD);
    });
  }

  private async byNames(names: string[], vpcId?: string): Promise<FieldedSubnet[]> {
    const r = await ec2Call('DescribeSubnets', () => this.ec2.describeSubnets({ Filters: [{ Name: 'tag:Name', Values: names }, ...inVpc(vpcId)] }));
    return names.map((name) => {
      const matches = (r.Subnets ?? []).filter((x) => hasNameTag(x, name));
      // In the node's VPC a name must be unique; without a VPC (an old request) the first match wins, as in the Go controller.
      if (vpcId && matches.length > 1) throw ambiguousName('subnet name', name, vpcId, matches.map((m) => m.SubnetId!), SUBNET_NAME_FIELD, 'spec.subnetIDs');
      const s = matches[0];
      if (!s) throw ApplicationFailure.nonRetryable(`DescribeSubnets: SubnetNotFound: no subnet${inTheNodesVpc(vpcId)} has the Name tag '${name}' (${SUBNET_NAME_FIELD})`, 'SubnetNotFound');
      return fielded(s, SUBNET_NAME_FIELD);
    });
  }
}
