// Security groups by ID (checked to be of the node's VPC), by group name, or by Name tag (both in the node's VPC),
// cached for a while. Concurrent lookups of the same references share one set of describes.
import { ApplicationFailure } from '@temporalio/activity';
import { ERROR_TYPES } from '../../common/error-types.js';
import { CachedLoad } from '../ttl-cache.js';
import type { Ec2Api } from './ec2-api.js';
import { ec2Call } from './ec2-failure.js';
import { ambiguousName, hasNameTag, inTheNodesVpc, inVpc, lookupKey } from './vpc-names.js';

export class SecurityGroupProvider {
  private readonly cache: CachedLoad<string[]>;

  constructor(
    private readonly ec2: Pick<Ec2Api, 'describeSecurityGroups'>,
    ttlMs: number,
  ) {
    this.cache = new CachedLoad(ttlMs);
  }

  /** The groups' IDs, each once: those named by ID first; fails naming the field of the first one not usable. */
  async resolve(ids: string[], names: string[], vpcId?: string): Promise<string[]> {
    return this.cache.get(lookupKey(ids, names, vpcId), () => this.load(ids, names, vpcId));
  }

  private async load(ids: string[], names: string[], vpcId?: string): Promise<string[]> {
    const byId = ids.length ? await this.byIds(ids, vpcId) : [];
    const byName = names.length ? await this.byNames(names, vpcId) : [];
    return [...new Set([...byId, ...byName])];
  }

  private async byIds(ids: string[], vpcId?: string): Promise<string[]> {
    // Checked up front so a typo fails naming the group and the field instead of surfacing at create time. A
    // filter, not GroupIds: EC2 answers with what exists, and the missing ID is named exactly.
    const r = await ec2Call('DescribeSecurityGroups', () => this.ec2.describeSecurityGroups({ Filters: [{ Name: 'group-id', Values: ids }] }));
    for (const id of ids) {
      const g = r.SecurityGroups?.find((x) => x.GroupId === id);
      if (!g) {
        throw ApplicationFailure.nonRetryable(`DescribeSecurityGroups: InvalidGroup.NotFound: The security group '${id}' does not exist (spec.securityGroupIDs)`, 'InvalidGroup.NotFound');
      }
      // EC2 puts an ENI only in groups of its subnet's VPC (CreateNetworkInterface: "belong to different networks").
      if (vpcId && g.VpcId && g.VpcId !== vpcId) {
        throw ApplicationFailure.nonRetryable(`security group ${id} is in ${g.VpcId}, not in ${vpcId}, the VPC of the node's instance (spec.securityGroupIDs)`, ERROR_TYPES.networkNotUsable);
      }
    }
    return ids;
  }

  /** By group name first (unique within a VPC: EC2 refuses a second one), then by Name tag (which need not be). */
  private async byNames(names: string[], vpcId?: string): Promise<string[]> {
    const out: string[] = [];
    const byName = await ec2Call('DescribeSecurityGroups', () => this.ec2.describeSecurityGroups({ Filters: [{ Name: 'group-name', Values: names }, ...inVpc(vpcId)] }));
    let missing = names.filter((n) => !byName.SecurityGroups?.some((g) => g.GroupName === n));
    for (const g of byName.SecurityGroups ?? []) if (names.includes(g.GroupName ?? '')) out.push(g.GroupId!);
    if (missing.length) {
      const byTag = await ec2Call('DescribeSecurityGroups', () => this.ec2.describeSecurityGroups({ Filters: [{ Name: 'tag:Name', Values: missing }, ...inVpc(vpcId)] }));
      for (const name of missing) {
        const matches = (byTag.SecurityGroups ?? []).filter((g) => hasNameTag(g, name));
        if (vpcId && matches.length > 1) throw ambiguousName('security group Name tag', name, vpcId, matches.map((g) => g.GroupId!), 'spec.securityGroupNames', 'spec.securityGroupIDs');
        for (const g of matches) out.push(g.GroupId!);
      }
      missing = missing.filter((n) => !byTag.SecurityGroups?.some((g) => hasNameTag(g, n)));
    }
    if (missing.length) {
      throw ApplicationFailure.nonRetryable(
        `DescribeSecurityGroups: SecurityGroupNotFound: no security group${inTheNodesVpc(vpcId)} is named '${missing.join("', '")}' (spec.securityGroupNames)`,
        'SecurityGroupNotFound',
      );
    }
    return out;
  }
}
