// Seeds the EC2 emulator, through the real SDK, with what a cluster's account has: a VPC, subnets in two
// availability zones with Name tags, named security groups, and instances that stand for nodes.
import {
  EC2Client,
  CreateVpcCommand,
  CreateSubnetCommand,
  CreateSecurityGroupCommand,
  DescribeImagesCommand,
  RunInstancesCommand,
  type _InstanceType,
} from '@aws-sdk/client-ec2';

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
  subnets: SeededSubnet[];
  securityGroups: { id: string; name: string }[];
  instances: SeededInstance[];
  imageId: string;
}

const SUBNETS = [
  { name: 'multus-test-subnet-1', az: 'us-east-1a', cidr: '10.10.1.0/24' },
  { name: 'multus-test-subnet-2', az: 'us-east-1b', cidr: '10.10.2.0/24' },
  { name: 'control-plane-subnet', az: 'us-east-1a', cidr: '10.10.3.0/24' },
  { name: 'user-plane-subnet', az: 'us-east-1b', cidr: '10.10.4.0/24' },
];
const SECURITY_GROUPS = ['multus-test-sg', 'control-plane-sg', 'user-plane-sg'];

export function emulatorClient(endpoint: string, region = SEED_REGION): EC2Client {
  return new EC2Client({ endpoint, region, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, maxAttempts: 3 });
}

/** Starts `count` instances in the given AZ's subnet (they stand for Kubernetes nodes). */
export async function runInstances(ec2: EC2Client, seed: Pick<Seed, 'imageId' | 'subnets'>, count: number, az = 'us-east-1a', type: _InstanceType = 'm5.4xlarge'): Promise<SeededInstance[]> {
  const subnet = seed.subnets.find((s) => s.az === az);
  if (!subnet) throw new Error(`no seeded subnet in ${az}`);
  const out: SeededInstance[] = [];
  // RunInstances caps a request; large fleets go in batches.
  for (let left = count; left > 0; left -= 100) {
    const n = Math.min(100, left);
    const r = await ec2.send(new RunInstancesCommand({ ImageId: seed.imageId, MinCount: n, MaxCount: n, InstanceType: type, SubnetId: subnet.id }));
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
  const images = await ec2.send(new DescribeImagesCommand({}));
  const imageId = images.Images?.[0]?.ImageId;
  if (!imageId) throw new Error('EC2 emulator: no image to start instances from');
  const seed: Seed = { region: SEED_REGION, vpcId, subnets, securityGroups, instances: [], imageId };
  const half = Math.ceil(instanceCount / 2);
  seed.instances.push(...(await runInstances(ec2, seed, half, 'us-east-1a')));
  seed.instances.push(...(await runInstances(ec2, seed, instanceCount - half, 'us-east-1b')));
  ec2.destroy();
  return seed;
}
