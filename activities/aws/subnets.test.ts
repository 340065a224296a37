// Subnet resolution against the fake EC2 API: by ID anywhere, by Name tag in the node's VPC, what the user sees
// when an ID is missing or a name is not unique, and what is cached.
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { FakeEc2Api, awsError, nameTag } from './fake-ec2-api.js';
import { SubnetProvider } from './subnets.js';

function setup() {
  const ec2 = new FakeEc2Api();
  ec2.subnets = [
    { SubnetId: 'subnet-a', CidrBlock: '10.0.1.0/24', AvailabilityZone: 'us-east-1a', VpcId: 'vpc-1', Tags: nameTag('multus-a') },
    { SubnetId: 'subnet-b', CidrBlock: '10.0.2.0/24', AvailabilityZone: 'us-east-1b', VpcId: 'vpc-1', Tags: nameTag('multus-b') },
    // The same name in another VPC: never one of vpc-1's.
    { SubnetId: 'subnet-x', CidrBlock: '10.9.1.0/24', AvailabilityZone: 'us-east-1a', VpcId: 'vpc-2', Tags: nameTag('multus-a') },
  ];
  return { ec2, subnets: new SubnetProvider(ec2, 60_000) };
}

describe('SubnetProvider', () => {
  it('resolves IDs, then names in the node VPC, each subnet once, with the field that named it', async () => {
    const { ec2, subnets } = setup();
    const r = await subnets.resolve(['subnet-b'], ['multus-a', 'multus-b'], 'vpc-1');
    expect(r).toEqual([
      { id: 'subnet-b', cidr: '10.0.2.0/24', az: 'us-east-1b', vpcId: 'vpc-1', field: 'spec.subnetID/subnetIDs' },
      { id: 'subnet-a', cidr: '10.0.1.0/24', az: 'us-east-1a', vpcId: 'vpc-1', field: 'spec.subnetName/subnetNames' },
    ]);
    expect(ec2.inputs('describeSubnets')).toEqual([
      { Filters: [{ Name: 'subnet-id', Values: ['subnet-b'] }] },
      { Filters: [{ Name: 'tag:Name', Values: ['multus-a', 'multus-b'] }, { Name: 'vpc-id', Values: ['vpc-1'] }] },
    ]);
  });

  it('names the missing subnet ID and the field', async () => {
    const { subnets } = setup();
    await expect(subnets.resolve(['subnet-a', 'subnet-gone'], [], 'vpc-1')).rejects.toMatchObject({
      type: 'InvalidSubnetID.NotFound',
      nonRetryable: true,
      message: "DescribeSubnets: InvalidSubnetID.NotFound: The subnet ID 'subnet-gone' does not exist (spec.subnetID/subnetIDs)",
    });
  });

  it('refuses a name two subnets of the node VPC carry, listing both and pointing to IDs', async () => {
    const { ec2, subnets } = setup();
    ec2.subnets.push({ SubnetId: 'subnet-a2', AvailabilityZone: 'us-east-1a', VpcId: 'vpc-1', Tags: nameTag('multus-a') });
    await expect(subnets.resolve([], ['multus-a'], 'vpc-1')).rejects.toMatchObject({
      type: 'AmbiguousName',
      nonRetryable: true,
      message: "subnet name 'multus-a' is ambiguous in vpc-1: 2 match (subnet-a, subnet-a2) (spec.subnetName/subnetNames); name it by ID (spec.subnetIDs)",
    });
  });

  it('without a VPC (an old request), the first subnet with the name wins', async () => {
    const { subnets } = setup();
    expect((await subnets.resolve([], ['multus-a'])).map((s) => s.id)).toEqual(['subnet-a']);
  });

  it('names a name no subnet of the node VPC carries, and the VPC', async () => {
    const { subnets } = setup();
    await expect(subnets.resolve([], ['multus-c'], 'vpc-2')).rejects.toMatchObject({
      type: 'SubnetNotFound',
      message: "DescribeSubnets: SubnetNotFound: no subnet in vpc-2 (the node's VPC) has the Name tag 'multus-c' (spec.subnetName/subnetNames)",
    });
  });

  it('reuses an answer for the same references and VPC; concurrent lookups share one describe', async () => {
    const { ec2, subnets } = setup();
    await Promise.all([subnets.resolve(['subnet-a'], [], 'vpc-1'), subnets.resolve(['subnet-a'], [], 'vpc-1')]);
    await subnets.resolve(['subnet-a'], [], 'vpc-1');
    expect(ec2.count('describeSubnets')).toBe(1);
    await subnets.resolve(['subnet-a'], [], 'vpc-2');
    expect(ec2.count('describeSubnets')).toBe(2);
  });

  it("maps EC2's errors: a permanent one fails for good, throttling is retried later; neither is cached", async () => {
    const { ec2, subnets } = setup();
    const env = new MockActivityEnvironment({ attempt: 3 }, { logger: new DefaultLogger('ERROR') });
    ec2.failNext('describeSubnets', awsError('UnauthorizedOperation', 403, 'You are not authorized'));
    await expect(env.run(() => subnets.resolve(['subnet-a'], [], 'vpc-1'))).rejects.toMatchObject({
      type: 'UnauthorizedOperation',
      nonRetryable: true,
      message: 'DescribeSubnets: UnauthorizedOperation: You are not authorized',
    });
    ec2.failNext('describeSubnets', awsError('RequestLimitExceeded', 503, 'Request limit exceeded.'));
    const throttled = env.run(() => subnets.resolve(['subnet-a'], [], 'vpc-1'));
    await expect(throttled).rejects.toMatchObject({ type: 'RequestLimitExceeded', nonRetryable: false, message: 'DescribeSubnets: RequestLimitExceeded: Request limit exceeded.' });
    // Attempt 3: 500 * 2^3 ms plus up to 500 ms of jitter.
    const delay = ((await throttled.catch((e: unknown) => e)) as { nextRetryDelay: number }).nextRetryDelay;
    expect(delay).toBeGreaterThanOrEqual(4000);
    expect(delay).toBeLessThan(4500);
    expect((await subnets.resolve(['subnet-a'], [], 'vpc-1')).map((s) => s.id)).toEqual(['subnet-a']);
    expect(ec2.count('describeSubnets')).toBe(3);
  });
});
