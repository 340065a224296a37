// Instances and their types against the fake EC2 API: the facts a pair is planned on (VPC, AZ, type limits,
// cluster tag), the batching of concurrent describes, the once-a-day type limits, and the refusals a user sees.
import { FakeEc2Api } from './fake-ec2-api.js';
import { InstanceTypeProvider } from './instance-types.js';
import { InstanceProvider } from './instances.js';

const owned = [{ Key: 'kubernetes.io/cluster/c1', Value: 'owned' }];

function setup() {
  const ec2 = new FakeEc2Api();
  ec2.instances = [
    { InstanceId: 'i-1', VpcId: 'vpc-1', InstanceType: 'm5.large', Placement: { AvailabilityZone: 'us-east-1a' }, Tags: owned },
    { InstanceId: 'i-2', VpcId: 'vpc-1', InstanceType: 'm5.large', Placement: { AvailabilityZone: 'us-east-1b' }, Tags: owned },
    { InstanceId: 'i-3', VpcId: 'vpc-1', InstanceType: 't3.nano', Tags: owned },
    { InstanceId: 'i-9', VpcId: 'vpc-1', InstanceType: 'm5.large', Tags: [{ Key: 'kubernetes.io/cluster/other', Value: 'owned' }] },
  ];
  ec2.instanceTypes = [
    { InstanceType: 'm5.large', NetworkInfo: { MaximumNetworkInterfaces: 3, Ipv4AddressesPerInterface: 10 } },
    { InstanceType: 't3.nano', NetworkInfo: {} },
  ];
  const instances = new InstanceProvider(ec2, new InstanceTypeProvider(ec2), 'c1', { delayMs: 0, maxKeys: 100 });
  return { ec2, instances };
}

describe('InstanceProvider', () => {
  it("gives the instance's VPC, AZ, type, tags and the type's interface and address limits", async () => {
    const { instances } = setup();
    expect(await instances.facts('i-1')).toEqual({
      instanceId: 'i-1',
      vpcId: 'vpc-1',
      az: 'us-east-1a',
      instanceType: 'm5.large',
      tags: { 'kubernetes.io/cluster/c1': 'owned' },
      maxInterfaces: 3,
      maxIpv4PerInterface: 10,
    });
  });

  it('leaves out a limit EC2 does not report', async () => {
    const { instances } = setup();
    const facts = await instances.facts('i-3');
    expect(facts).not.toHaveProperty('maxInterfaces');
    expect(facts).not.toHaveProperty('maxIpv4PerInterface');
  });

  it('describes the instances asked for at once in one call, and a type once for all its instances', async () => {
    const { ec2, instances } = setup();
    await Promise.all(['i-1', 'i-2', 'i-1'].map((id) => instances.facts(id)));
    expect(ec2.inputs('describeInstances')).toEqual([{ Filters: [{ Name: 'instance-id', Values: ['i-1', 'i-2'] }] }]);
    expect(ec2.inputs('describeInstanceTypes')).toEqual([{ InstanceTypes: ['m5.large'] }]);
    await instances.facts('i-2');
    expect(ec2.count('describeInstances')).toBe(1);
  });

  it('fails naming an instance EC2 does not know', async () => {
    const { instances } = setup();
    await expect(instances.facts('i-gone')).rejects.toMatchObject({
      type: 'InvalidInstanceID.NotFound',
      nonRetryable: true,
      message: "DescribeInstances: the node's instance i-gone does not exist (terminated?)",
    });
  });

  it("refuses an instance without this cluster's tag, after reading it again", async () => {
    const { ec2, instances } = setup();
    await instances.facts('i-9');
    await expect(instances.ofCluster('i-9')).rejects.toMatchObject({
      type: 'InstanceNotInCluster',
      nonRetryable: true,
      message: expect.stringContaining('i-9 does not carry the tag kubernetes.io/cluster/c1=owned|shared'),
    });
    expect(ec2.count('describeInstances')).toBe(2);
  });

  it('takes an instance tagged since it was cached, without waiting out the cache', async () => {
    const { ec2, instances } = setup();
    await instances.facts('i-9');
    ec2.instances.find((i) => i.InstanceId === 'i-9')!.Tags = [{ Key: 'kubernetes.io/cluster/c1', Value: 'shared' }];
    expect((await instances.ofCluster('i-9')).instanceId).toBe('i-9');
    await instances.ofCluster('i-9');
    expect(ec2.count('describeInstances')).toBe(2);
  });
});
