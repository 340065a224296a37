// The seeds' NodeENI manifests, applied as users have them, produce exactly the expected ENIs in EC2,
// status, `kubectl get nodeenis -o wide`, and interfaces configured on the node.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { TestCluster } from '../support/cluster.js';
import { eventually, stack } from '../support/env.js';
import { proxy } from '../support/proxy.js';
import type { NetworkInterface } from '@aws-sdk/client-ec2';

const tags = (n: NetworkInterface) => Object.fromEntries((n.TagSet ?? []).map((t) => [t.Key, t.Value]));

function kubectl(args: string[]): string {
  const s = stack();
  return execFileSync(path.join(s.bin, 'kubectl'), args, { env: { ...process.env, KUBECONFIG: s.kube.kubeconfig } }).toString();
}

describe('seed manifests on the local stack', () => {
  const c = new TestCluster();

  beforeAll(async () => {
    await proxy.reset();
    await c.addNodes(2);
    c.controller.start();
  }, 120000);
  afterAll(() => c.teardown(), 180000);

  it('the three telco cases on one node: ENIs, status, interfaces, DPDK and SR-IOV config', async () => {
    const s = stack();
    const [n0] = c.nodes;
    // Only the first node carries the label for this test.
    await c.setNodeLabels(c.node(1).name, { ng: null });
    for (const f of ['case1-control-plane.yaml', 'case2-sriov-kernel.yaml', 'case3-dpdk.yaml']) await c.apply(c.seed(f));

    const cp = await c.waitReady('control-plane-eni', 1);
    const sriov = await c.waitReady('user-plane-sriov-eni', 1);
    const dpdk = await c.waitReady('dpdk-user-plane-eni', 1);

    // Status: the Go controller's fields plus MAC, interface name and phase.
    const a1 = cp.status!.attachments![0]!;
    expect(a1).toMatchObject({ nodeID: n0!.name, instanceID: n0!.instanceId, subnetID: s.seed.subnets[0]!.id, subnetCIDR: '10.10.1.0/24', deviceIndex: 2, mtu: 9001, status: 'attached', phase: 'Ready', interfaceName: 'eth2', deleteOnTermination: true });
    expect(a1.eniID).toMatch(/^eni-/);
    expect(a1.macAddress).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(sriov.status!.attachments![0]).toMatchObject({ deviceIndex: 3, interfaceName: 'eth3', dpdkResourceName: 'intel.com/sriov_kernel', dpdkPCIAddress: '0000:00:07.0' });
    expect(dpdk.status!.attachments![0]).toMatchObject({ deviceIndex: 4, dpdkBound: true, dpdkDriver: 'vfio-pci', dpdkPCIAddress: '0000:00:08.0', phase: 'Ready' });
    // Conditions are the watcher's summary of the attachments, written right after them.
    await eventually('Ready condition', async () => (await c.get('control-plane-eni'))?.status?.conditions?.find((x) => x.type === 'Ready' && x.status === 'True'));
    expect(cp.metadata.finalizers).toContain('nodeeni.networking.k8s.aws/finalizer');

    // EC2: exactly one ENI per NodeENI, in the right subnet and groups, tagged, attached at the right index.
    const enis = await c.enis();
    expect(enis).toHaveLength(3);
    for (const [obj, index] of [[cp, 2], [sriov, 3], [dpdk, 4]] as const) {
      const e = enis.find((x) => x.NetworkInterfaceId === obj.status!.attachments![0]!.eniID)!;
      expect(e.SubnetId).toBe(s.seed.subnets[0]!.id);
      expect(e.Groups?.map((g) => g.GroupId)).toEqual([s.seed.securityGroups[0]!.id]);
      expect(e.Attachment).toMatchObject({ InstanceId: n0!.instanceId, DeviceIndex: index, Status: 'attached' });
      expect(tags(e)).toMatchObject({ NodeENI: obj.metadata.name, Node: n0!.name, SubnetID: s.seed.subnets[0]!.id, 'node.k8s.amazonaws.com/no_manage': 'true', 'multi-eni.networking.k8s.aws/cluster': c.clusterName });
      expect(tags(e)['multi-eni.networking.k8s.aws/created-at']).toMatch(/^\d{4}-\d\d-\d\dT/);
    }
    expect(enis.find((e) => e.NetworkInterfaceId === a1.eniID)!.Description).toBe('Control plane network for CNF');

    // The node: MTU and up on the kernel interfaces; the DPDK device on vfio-pci; the device plugin config.
    const links = await n0!.sim!.links();
    expect(links.find((l) => l.ifname === 'eth2')).toMatchObject({ mtu: 9001, address: a1.macAddress });
    expect(links.find((l) => l.ifname === 'eth2')!.flags).toContain('UP');
    expect(links.find((l) => l.ifname === 'eth3')).toMatchObject({ mtu: 9001 });
    expect(links.find((l) => l.ifname === 'eth4')).toBeUndefined(); // bound to DPDK: no kernel link
    expect(n0!.sim!.kernel.driverOf('0000:00:08.0')).toBe('vfio-pci');
    expect(n0!.sim!.pcidpConfig()).toEqual({
      resourceList: expect.arrayContaining([
        { resourcePrefix: 'intel.com', resourceName: 'sriov_kernel', selectors: [{ drivers: ['ena'], pciAddresses: ['0000:00:07.0'] }] },
        { resourcePrefix: 'intel.com', resourceName: 'intel_sriov_netdevice', selectors: [{ drivers: ['vfio-pci'], pciAddresses: ['0000:00:08.0'] }] },
      ]),
    });

    // What `kubectl get nodeenis -o wide` shows at a glance.
    const wide = kubectl(['get', 'nodeenis', '-o', 'wide', '-l', `test-run=${c.runId}`]);
    expect(wide).toMatch(/NAME\s+READY\s+STATUS\s+NODES\s+NODE\s+ENI-ID\s+SUBNET-ID\s+INTERFACE\s+AGE/);
    expect(wide).toMatch(new RegExp(`control-plane-eni\\s+1/1\\s+AllAttachmentsReady\\s+1\\s+${n0!.name}\\s+${a1.eniID}\\s+${s.seed.subnets[0]!.id}\\s+eth2`));

    // Release: the DPDK device goes back to its kernel driver before the ENI is detached, then all are deleted.
    for (const name of ['control-plane-eni', 'user-plane-sriov-eni', 'dpdk-user-plane-eni']) await c.delete(name);
    for (const name of ['control-plane-eni', 'user-plane-sriov-eni', 'dpdk-user-plane-eni']) await c.waitGone(name);
    const writes = n0!.sim!.kernel.writes.map((w) => `${w.path}=${w.value.trim()}`);
    expect(writes).toContain('bus/pci/drivers/vfio-pci/unbind=0000:00:08.0');
    expect(writes.indexOf('bus/pci/drivers/vfio-pci/unbind=0000:00:08.0')).toBeGreaterThan(writes.indexOf('bus/pci/drivers/vfio-pci/bind=0000:00:08.0'));
    expect(await c.enis()).toHaveLength(0);
    expect((n0!.sim!.pcidpConfig() as { resourceList: unknown[] } | undefined)?.resourceList ?? []).toHaveLength(0);
  }, 240000);

  it('several subnets and a security group by name, the dpdkEnabled spelling, DeleteOnTermination as the spec says', async () => {
    const s = stack();
    await c.setNodeLabels(c.node(1).name, { ng: c.nodeGroup });
    await proxy.resetCalls();
    await c.apply(c.seed('multi-subnet-by-name.yaml'));
    const multi = await c.waitReady('multi-subnet-nodeeni', 4);
    const byNode = (node: string) => multi.status!.attachments!.filter((a) => a.nodeID === node).sort((a, b) => a.deviceIndex! - b.deviceIndex!);
    for (const n of c.nodes) {
      const mine = byNode(n.name);
      // One ENI per subnet per node, device indexes deviceIndex + position, in the spec's subnet order.
      expect(mine.map((a) => [a.subnetID, a.deviceIndex, a.interfaceName, a.mtu])).toEqual([
        [s.seed.subnets.find((x) => x.name === 'multus-test-subnet-1')!.id, 2, 'eth2', 9001],
        [s.seed.subnets.find((x) => x.name === 'multus-test-subnet-2')!.id, 3, 'eth3', 9001],
      ]);
    }
    const enis = await c.enis();
    expect(enis).toHaveLength(4);
    for (const e of enis) expect(e.Groups?.map((g) => g.GroupName)).toEqual(['multus-test-sg']);

    // DeleteOnTermination: EC2's emulator ignores the attribute, so the call the controller made is checked.
    const dot = (await proxy.calls()).byAction['ModifyNetworkInterfaceAttribute'];
    expect(dot?.total).toBe(4);
    expect(multi.status!.attachments!.every((a) => a.deleteOnTermination === true)).toBe(true);

    const alias = c.seed('dpdk-enabled-alias.yaml');
    alias.spec.deviceIndex = 5; // eth2 and eth3 are taken on these nodes by the NodeENI above
    alias.spec.deleteOnTermination = false;
    await c.apply(alias);
    const a = await c.waitReady('dpdk-enabled-eni', 2);
    for (const x of a.status!.attachments!) expect(x).toMatchObject({ dpdkBound: true, dpdkDriver: 'vfio-pci', deviceIndex: 5, deleteOnTermination: false, dpdkPCIAddress: '0000:00:09.0' });
    await eventually('DPDK bound on both nodes', async () => c.nodes.every((n) => n.sim!.kernel.driverOf('0000:00:09.0') === 'vfio-pci'));
    for (const name of ['multi-subnet-nodeeni', 'dpdk-enabled-eni']) await c.delete(name);
    for (const name of ['multi-subnet-nodeeni', 'dpdk-enabled-eni']) await c.waitGone(name);
    expect(await c.enis()).toHaveLength(0);
  }, 240000);
});
