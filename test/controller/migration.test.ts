// Migration from the Go controller: the same NodeENI, and the ENI it left attached (with its tags) is adopted
// where it is — not recreated, not re-attached — and only our own tags are added.
import { AttachNetworkInterfaceCommand, CreateNetworkInterfaceCommand, DescribeNetworkInterfacesCommand } from '@aws-sdk/client-ec2';
import { TestCluster } from '../support/cluster.js';
import { stack } from '../support/env.js';
import { countsByAction, proxy } from '../support/proxy.js';

describe('migration from the Go controller', () => {
  const c = new TestCluster();

  beforeAll(async () => {
    await proxy.reset();
    await c.addNodes(1);
  }, 120000);
  afterAll(() => c.teardown(), 180000);

  it("adopts the Go controller's attached ENI in place and tags it as ours", async () => {
    const s = stack();
    const node = c.node(0);
    const subnet = s.seed.subnets[0]!.id;
    // What the Go controller leaves behind: its tags (no cluster or created-at tag), attached at index 2.
    const goEni = await c.ec2.send(
      new CreateNetworkInterfaceCommand({
        SubnetId: subnet,
        Groups: [s.seed.securityGroups[0]!.id],
        Description: `ENI created by nodeeni-controller for node ${node.name}`,
        TagSpecifications: [
          {
            ResourceType: 'network-interface',
            Tags: [
              { Key: 'Name', Value: `nodeeni-jumbo-frames-eni-${node.name}-${subnet.slice(7)}` },
              { Key: 'NodeENI', Value: 'jumbo-frames-eni' },
              { Key: 'Node', Value: node.name },
              { Key: 'SubnetID', Value: subnet },
              { Key: 'kubernetes.io/cluster/managed-by', Value: 'nodeeni-controller' },
              { Key: 'node.k8s.amazonaws.com/no_manage', Value: 'true' },
            ],
          },
        ],
      }),
    );
    const eniId = goEni.NetworkInterface!.NetworkInterfaceId!;
    await c.ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: eniId, InstanceId: node.instanceId, DeviceIndex: 2 }));

    await proxy.resetCalls();
    c.controller.start();
    await c.apply(c.seed('jumbo-frames.yaml'));
    const ready = await c.waitReady('jumbo-frames-eni', 1);
    expect(ready.status!.attachments![0]).toMatchObject({ eniID: eniId, deviceIndex: 2, interfaceName: 'eth2', mtu: 9001, phase: 'Ready' });

    const calls = countsByAction(await proxy.calls());
    expect(calls.CreateNetworkInterface ?? 0).toBe(0);
    expect(calls.AttachNetworkInterface ?? 0).toBe(0);
    expect(calls.DetachNetworkInterface ?? 0).toBe(0);
    expect(calls.CreateTags).toBe(1);

    const e = (await c.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] }))).NetworkInterfaces![0]!;
    const tags = Object.fromEntries((e.TagSet ?? []).map((t) => [t.Key, t.Value]));
    expect(tags).toMatchObject({ 'multi-eni.networking.k8s.aws/cluster': c.clusterName, 'kubernetes.io/cluster/managed-by': 'nodeeni-controller', NodeENI: 'jumbo-frames-eni' });
    expect(tags['multi-eni.networking.k8s.aws/created-at']).toMatch(/^\d{4}-/);
    expect(e.Attachment).toMatchObject({ InstanceId: node.instanceId, DeviceIndex: 2 });
    expect((await c.events('jumbo-frames-eni')).map((x) => x.reason)).toContain('ENIAdopted');
  }, 180000);
});
