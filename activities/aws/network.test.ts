// A NodeENI's network for one node, through the real providers over the fake EC2 API: names resolve in the VPC
// of the node's instance, the node gets its AZ's subnets, and references of another VPC or AZ are refused
// naming the field before anything is created.
import { FakeEc2Api, nameTag } from './fake-ec2-api.js';
import { createEc2Providers } from './providers.js';

function setup() {
  const ec2 = new FakeEc2Api();
  ec2.instances = [
    { InstanceId: 'i-1', VpcId: 'vpc-1', InstanceType: 'm5.large', Placement: { AvailabilityZone: 'us-east-1a' } },
    { InstanceId: 'i-novpc', InstanceType: 'm5.large' },
  ];
  ec2.instanceTypes = [{ InstanceType: 'm5.large', NetworkInfo: { MaximumNetworkInterfaces: 3 } }];
  ec2.subnets = [
    { SubnetId: 'subnet-1a', CidrBlock: '10.0.1.0/24', AvailabilityZone: 'us-east-1a', VpcId: 'vpc-1', Tags: nameTag('multus') },
    { SubnetId: 'subnet-1b', CidrBlock: '10.0.2.0/24', AvailabilityZone: 'us-east-1b', VpcId: 'vpc-1', Tags: nameTag('multus-b') },
    { SubnetId: 'subnet-2a', CidrBlock: '10.1.1.0/24', AvailabilityZone: 'us-east-1a', VpcId: 'vpc-2', Tags: nameTag('multus') },
  ];
  ec2.securityGroups = [
    { GroupId: 'sg-1', GroupName: 'default', VpcId: 'vpc-1' },
    { GroupId: 'sg-2', GroupName: 'default', VpcId: 'vpc-2' },
  ];
  const { network } = createEc2Providers(ec2, { clusterName: 'c1', batchDelayMs: 0 });
  return { ec2, network };
}

const refs = { subnetIds: [], subnetNames: [], securityGroupIds: [], securityGroupNames: [], instanceId: 'i-1' };

describe('NetworkResolver', () => {
  it("resolves names in the node's VPC only (the same names exist in another)", async () => {
    const { network } = setup();
    expect(await network.resolve({ ...refs, subnetNames: ['multus'], securityGroupNames: ['default'] })).toEqual({
      subnets: [{ id: 'subnet-1a', cidr: '10.0.1.0/24', az: 'us-east-1a', vpcId: 'vpc-1' }],
      securityGroupIds: ['sg-1'],
    });
  });

  it("gives a multi-AZ NodeENI's node the subnets of its own AZ", async () => {
    const { network } = setup();
    const r = await network.resolve({ ...refs, subnetIds: ['subnet-1a', 'subnet-1b'], securityGroupIds: ['sg-1'] });
    expect(r.subnets.map((s) => s.id)).toEqual(['subnet-1a']);
  });

  it('refuses a list with no subnet in the node AZ, naming the field', async () => {
    const { network } = setup();
    await expect(network.resolve({ ...refs, subnetNames: ['multus-b'] })).rejects.toMatchObject({
      type: 'NetworkNotUsable',
      nonRetryable: true,
      message: expect.stringMatching(/^no listed subnet is in us-east-1a, .* i-1: subnet-1b \(us-east-1b\); .* \(spec\.subnetName\/subnetNames\)$/),
    });
  });

  it('refuses a subnet ID of another VPC, naming the field', async () => {
    const { network } = setup();
    await expect(network.resolve({ ...refs, subnetIds: ['subnet-2a'] })).rejects.toMatchObject({
      type: 'NetworkNotUsable',
      message: "subnet subnet-2a is in vpc-2, not in vpc-1, the VPC of the node's instance i-1 (spec.subnetID/subnetIDs)",
    });
  });

  it('fails for an instance without a VPC before any lookup', async () => {
    const { ec2, network } = setup();
    await expect(network.resolve({ ...refs, instanceId: 'i-novpc', subnetNames: ['multus'] })).rejects.toMatchObject({
      type: 'InstanceVpcUnknown',
      message: "DescribeInstances: the node's instance i-novpc has no VPC (is it terminated?)",
    });
    expect(ec2.count('describeSubnets')).toBe(0);
  });
});
