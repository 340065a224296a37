// Security-group resolution against the fake EC2 API: by ID (of the node's VPC), by group name, then by Name tag,
// and what the user sees for a missing ID, a group of another VPC, an ambiguous Name tag and a name not found.
import { FakeEc2Api, nameTag } from './fake-ec2-api.js';
import { SecurityGroupProvider } from './security-groups.js';

function setup() {
  const ec2 = new FakeEc2Api();
  ec2.securityGroups = [
    { GroupId: 'sg-default', GroupName: 'default', VpcId: 'vpc-1' },
    { GroupId: 'sg-default-2', GroupName: 'default', VpcId: 'vpc-2' },
    { GroupId: 'sg-web', GroupName: 'launch-wizard-1', VpcId: 'vpc-1', Tags: nameTag('web') },
    { GroupId: 'sg-other', GroupName: 'other', VpcId: 'vpc-2' },
  ];
  return { ec2, groups: new SecurityGroupProvider(ec2, 60_000) };
}

describe('SecurityGroupProvider', () => {
  it('resolves IDs, group names and Name tags in the node VPC; the Name tag is asked for only what names missed', async () => {
    const { ec2, groups } = setup();
    expect(await groups.resolve(['sg-web'], ['default', 'web'], 'vpc-1')).toEqual(['sg-web', 'sg-default']);
    expect(ec2.inputs('describeSecurityGroups')).toEqual([
      { Filters: [{ Name: 'group-id', Values: ['sg-web'] }] },
      { Filters: [{ Name: 'group-name', Values: ['default', 'web'] }, { Name: 'vpc-id', Values: ['vpc-1'] }] },
      { Filters: [{ Name: 'tag:Name', Values: ['web'] }, { Name: 'vpc-id', Values: ['vpc-1'] }] },
    ]);
  });

  it('names the missing group ID and the field', async () => {
    const { groups } = setup();
    await expect(groups.resolve(['sg-web', 'sg-typo'], [], 'vpc-1')).rejects.toMatchObject({
      type: 'InvalidGroup.NotFound',
      nonRetryable: true,
      message: "DescribeSecurityGroups: InvalidGroup.NotFound: The security group 'sg-typo' does not exist (spec.securityGroupIDs)",
    });
  });

  it('refuses a group ID of another VPC than the node', async () => {
    const { groups } = setup();
    await expect(groups.resolve(['sg-other'], [], 'vpc-1')).rejects.toMatchObject({
      type: 'NetworkNotUsable',
      message: "security group sg-other is in vpc-2, not in vpc-1, the VPC of the node's instance (spec.securityGroupIDs)",
    });
  });

  it('refuses a Name tag two groups of the node VPC carry', async () => {
    const { ec2, groups } = setup();
    ec2.securityGroups.push({ GroupId: 'sg-web-2', GroupName: 'web-copy', VpcId: 'vpc-1', Tags: nameTag('web') });
    await expect(groups.resolve([], ['web'], 'vpc-1')).rejects.toMatchObject({
      type: 'AmbiguousName',
      message: "security group Name tag 'web' is ambiguous in vpc-1: 2 match (sg-web, sg-web-2) (spec.securityGroupNames); name it by ID (spec.securityGroupIDs)",
    });
  });

  it('names every name found neither as a group name nor as a Name tag, and the VPC', async () => {
    const { groups } = setup();
    await expect(groups.resolve([], ['default', 'nope', 'other'], 'vpc-1')).rejects.toMatchObject({
      type: 'SecurityGroupNotFound',
      nonRetryable: true,
      message: "DescribeSecurityGroups: SecurityGroupNotFound: no security group in vpc-1 (the node's VPC) is named 'nope', 'other' (spec.securityGroupNames)",
    });
  });

  it('caches by references and VPC', async () => {
    const { ec2, groups } = setup();
    expect(await groups.resolve([], ['default'], 'vpc-1')).toEqual(['sg-default']);
    expect(await groups.resolve([], ['default'], 'vpc-1')).toEqual(['sg-default']);
    expect(ec2.count('describeSecurityGroups')).toBe(1);
    expect(await groups.resolve([], ['default'], 'vpc-2')).toEqual(['sg-default-2']);
  });
});
