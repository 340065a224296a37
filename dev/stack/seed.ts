// Seeds the EC2 emulator, through the real SDK, with what a cluster's account has: the cluster's VPC with subnets
// in two availability zones (two Multus subnets in each) with Name tags, named security groups, instances in both
// AZs that stand for nodes, and a second VPC with a subnet, whose `default` security group shares its name with
// the cluster VPC's (as in any account with more than one VPC).
import {
  EC2Client,
  CreateVpcCommand,
  CreateSubnetCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  DescribeImagesCommand,
  RunInstancesCommand,
  type _InstanceType,
} from '@aws-sdk/client-ec2';
import { clusterTagKey } from '../../common/device-slots.js';

export const SEED_REGION = 'us-east-1';

export interface SeededSubnet {
  id: string;
  name: string;
  az: string;
  cidr: string;
}
export interface SeededInstance {
  id: string;
  az: string;
}
export interface Seed {
  region: string;
  vpcId: string;
  /** Another VPC of the account, with one subnet: what a name lookup must not wander into. */
  otherVpc: { vpcId: string; subnetId: string; defaultSecurityGroupId: string };
  subnets: SeededSubnet[];
  securityGroups: { id: string; name: string }[];
  instances: SeededInstance[];
  imageId: string;
}

// Two Multus subnets per AZ (the seeds' multi-subnet NodeENI names the two of us-east-1a: an ENI attaches only
// to an instance of its own AZ, so a single-AZ NodeENI lists subnets of one AZ).
const SUBNETS = [
  { name: 'multus-test-subnet-1', az: 'us-east-1a', cidr: '10.10.1.0/24' },
  { name: 'multus-test-subnet-2', az: 'us-east-1a', cidr: '10.10.2.0/24' },
  { name: 'control-plane-subnet', az: 'us-east-1a', cidr: '10.10.3.0/24' },
  { name: 'user-plane-subnet', az: 'us-east-1b', cidr: '10.10.4.0/24' },
  { name: 'multus-test-subnet-3', az: 'us-east-1b', cidr: '10.10.5.0/24' },
  { name: 'multus-test-subnet-4', az: 'us-east-1b', cidr: '10.10.6.0/24' },
];
const SECURITY_GROUPS = ['multus-test-sg', 'control-plane-sg', 'user-plane-sg'];

export function emulatorClient(endpoint: string, region = SEED_REGION): EC2Client {
  return new EC2Client({ endpoint, region, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, maxAttempts: 3 });
}

/**
 * Starts `count` instances in the given AZ's subnet (they stand for Kubernetes nodes). With a cluster name they
 * carry its tag `kubernetes.io/cluster/<name>=owned`, as EKS node groups, eksctl and Karpenter tag nodes; the
 * controller attaches ENIs only to instances with its cluster's tag.
 */
export async function runInstances(
  ec2: EC2Client,
  seed: Pick<Seed, 'imageId' | 'subnets'>,
  count: number,
  az = 'us-east-1a',
  type: _InstanceType = 'm5.4xlarge',
  clusterName?: string,
): Promise<SeededInstance[]> {
  const subnet = seed.subnets.find((s) => s.az === az);
  if (!subnet) throw new Error(`no seeded subnet in ${az}`);
  const out: SeededInstance[] = [];
  // RunInstances caps a request; large fleets go in batches.
  for (let left = count; left > 0; left -= 100) {
    const n = Math.min(100, left);
    const tags = clusterName ? [{ ResourceType: 'instance' as const, Tags: [{ Key: clusterTagKey(clusterName), Value: 'owned' }] }] : undefined;
    const r = await ec2.send(new RunInstancesCommand({ ImageId: seed.imageId, MinCount: n, MaxCount: n, InstanceType: type, SubnetId: subnet.id, TagSpecifications: tags }));
    for (const i of r.Instances ?? []) out.push({ id: i.InstanceId!, az });
  }
  return out;
}

export async function seedEc2(endpoint: string, instanceCount = 4): Promise<Seed> {
  const ec2 = emulatorClient(endpoint);
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.10.0.0/16', TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'Name', Value: 'multi-eni-local' }] }] }));
  const vpcId = vpc.Vpc!.VpcId!;
  const subnets: SeededSubnet[] = [];
  for (const s of SUBNETS) {
    const r = await ec2.send(
      new CreateSubnetCommand({
        VpcId: vpcId,
        CidrBlock: s.cidr,
        AvailabilityZone: s.az,
        TagSpecifications: [{ ResourceType: 'subnet', Tags: [{ Key: 'Name', Value: s.name }] }],
      }),
    );
    subnets.push({ id: r.Subnet!.SubnetId!, name: s.name, az: s.az, cidr: s.cidr });
  }
  const securityGroups: { id: string; name: string }[] = [];
  for (const name of SECURITY_GROUPS) {
    const r = await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: name,
        Description: `${name} (multi-eni local stack)`,
        VpcId: vpcId,
        TagSpecifications: [{ ResourceType: 'security-group', Tags: [{ Key: 'Name', Value: name }] }],
      }),
    );
    securityGroups.push({ id: r.GroupId!, name });
  }
  const other = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16', TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'Name', Value: 'multi-eni-other-vpc' }] }] }));
  const otherVpcId = other.Vpc!.VpcId!;
  const otherSubnet = await ec2.send(
    new CreateSubnetCommand({ VpcId: otherVpcId, CidrBlock: '10.20.1.0/24', AvailabilityZone: 'us-east-1a', TagSpecifications: [{ ResourceType: 'subnet', Tags: [{ Key: 'Name', Value: 'other-vpc-subnet' }] }] }),
  );
  // Every VPC has a group named `default`; this one and the cluster VPC's share the name.
  const otherDefault = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [otherVpcId] }, { Name: 'group-name', Values: ['default'] }] }));
  const otherVpc = { vpcId: otherVpcId, subnetId: otherSubnet.Subnet!.SubnetId!, defaultSecurityGroupId: otherDefault.SecurityGroups?.[0]?.GroupId ?? '' };
  if (!otherVpc.defaultSecurityGroupId) throw new Error('EC2 emulator: the second VPC has no default security group');
  const images = await ec2.send(new DescribeImagesCommand({}));
  const imageId = images.Images?.[0]?.ImageId;
  if (!imageId) throw new Error('EC2 emulator: no image to start instances from');
  const seed: Seed = { region: SEED_REGION, vpcId, otherVpc, subnets, securityGroups, instances: [], imageId };
  const half = Math.ceil(instanceCount / 2);
  seed.instances.push(...(await runInstances(ec2, seed, half, 'us-east-1a')));
  seed.instances.push(...(await runInstances(ec2, seed, instanceCount - half, 'us-east-1b')));
  ec2.destroy();
  return seed;
}
