// Subnet and security-group names resolve in the VPC of the node's instance: every VPC has a `default` group, and
// subnet Name tags repeat across VPCs. A name that two resources carry in that VPC is an error naming the field.
import { CreateSubnetCommand, DeleteSubnetCommand, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import type { NodeENI } from '../../common/nodeeni.js';
import { clusterForSuite } from '../support/cluster.js';
import { eventually, stack } from '../support/env.js';

describe("names resolve in the node's VPC", () => {
  const c = clusterForSuite(1);
  // Subnets of this run: /24s picked by the run ID, so a second run on the same stack does not collide with the first.
  const octet = (k: number) => 100 + (parseInt(c.runId.slice(-4), 16) % 50) * 3 + k;
  const made: string[] = [];
  const subnet = async (vpcId: string, cidr: string, name: string) => {
    const id = (
      await c.ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: cidr, AvailabilityZone: 'us-east-1a', TagSpecifications: [{ ResourceType: 'subnet', Tags: [{ Key: 'Name', Value: name }] }] }))
    ).Subnet!.SubnetId!;
    made.push(id);
    return id;
  };
  const manifest = (name: string, spec: Partial<NodeENI['spec']>): NodeENI => ({
    apiVersion: 'networking.k8s.aws/v1alpha1',
    kind: 'NodeENI',
    metadata: { name },
    spec: { nodeSelector: { ng: c.nodeGroup }, ...spec },
  });
  const eniOf = async (name: string) => (await c.enis([{ Name: 'tag:NodeENI', Values: [name] }]))[0]!;

  // After the cluster's teardown (registered first, run first): its ENIs are gone from these subnets.
  afterAll(async () => {
    for (const id of made) await c.ec2.send(new DeleteSubnetCommand({ SubnetId: id })).catch(() => undefined);
  });

  it("securityGroupNames: [default] is the node's VPC's default group, not another VPC's", async () => {
    const s = stack();
    const defaults = await c.ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: ['default'] }] }));
    expect(new Set(defaults.SecurityGroups!.map((g) => g.VpcId)).size).toBeGreaterThanOrEqual(2); // the name does collide
    const own = defaults.SecurityGroups!.find((g) => g.VpcId === s.seed.vpcId)!.GroupId!;
    const name = `default-sg-${c.runId}`;
    await c.apply(manifest(name, { subnetID: s.seed.subnets[0]!.id, securityGroupNames: ['default'], deviceIndex: 1 }));
    await c.waitReady(name, 1);
    expect((await eniOf(name)).Groups!.map((g) => g.GroupId)).toEqual([own]);
  });

  it('a subnet Name tag that another VPC also carries resolves to the subnet of the node\'s VPC', async () => {
    const s = stack();
    // The other VPC's subnet is the older one: a lookup across VPCs that takes the first match would take it.
    const shared = `shared-name-${c.runId}`;
    await subnet(s.seed.otherVpc.vpcId, `10.20.${octet(0)}.0/24`, shared);
    const ours = await subnet(s.seed.vpcId, `10.10.${octet(0)}.0/24`, shared);
    const name = `subnet-name-${c.runId}`;
    await c.apply(manifest(name, { subnetNames: [shared], securityGroupIDs: [s.seed.securityGroups[0]!.id], deviceIndex: 2 }));
    const ready = await c.waitReady(name, 1);
    expect(ready.status!.attachments![0]!.subnetID).toBe(ours);
    expect((await eniOf(name)).SubnetId).toBe(ours);
  });

  it('one subnet named by ID and by name is one ENI, and the NodeENI goes Ready (1/1)', async () => {
    const s = stack();
    const sub = s.seed.subnets.find((x) => x.name === 'multus-test-subnet-2')!;
    const name = `id-and-name-${c.runId}`;
    await c.apply(manifest(name, { subnetIDs: [sub.id], subnetNames: [sub.name], securityGroupIDs: [s.seed.securityGroups[0]!.id], deviceIndex: 4 }));
    const ready = await c.waitReady(name, 1);
    expect(ready.status!.attachments!.map((a) => a.subnetID)).toEqual([sub.id]);
    // Before, the spec's two references counted as two attachments and the NodeENI never went Ready.
    const cond = await eventually('Ready=True', async () => (await c.get(name))?.status?.conditions?.find((x) => x.type === 'Ready' && x.status === 'True') ?? false);
    expect(cond.message).toBe('1/1 attachments ready');
    expect(await c.enis([{ Name: 'tag:NodeENI', Values: [name] }])).toHaveLength(1);
  });

  it('a name two subnets carry in the node\'s VPC is refused naming the field and both subnets; nothing is created', async () => {
    const s = stack();
    const dup = `dup-${c.runId}`;
    const ids = [await subnet(s.seed.vpcId, `10.10.${octet(1)}.0/24`, dup), await subnet(s.seed.vpcId, `10.10.${octet(2)}.0/24`, dup)];
    const name = `ambiguous-${c.runId}`;
    await c.apply(manifest(name, { subnetNames: [dup], securityGroupIDs: [s.seed.securityGroups[0]!.id], deviceIndex: 3 }));
    const degraded = await eventually('Degraded naming the field', async () => {
      const d = (await c.get(name))?.status?.conditions?.find((x) => x.type === 'Degraded' && x.status === 'True');
      return d ?? false;
    });
    expect(degraded.message).toContain(`subnet name '${dup}' is ambiguous in ${s.seed.vpcId}`);
    expect(degraded.message).toContain('spec.subnetName/subnetNames');
    for (const id of ids) expect(degraded.message).toContain(id);
    expect(await c.enis([{ Name: 'tag:NodeENI', Values: [name] }])).toEqual([]);
  });
});
