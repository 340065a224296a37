// What telco clusters ask of a NodeENI, on nodes in two availability zones. One NodeENI across both AZs, as in the
// seed 003 topology (two Multus subnets per AZ): each node gets one ENI per listed subnet of its own AZ, device
// indexes by position among that AZ's subnets; a node whose AZ has none of the listed subnets gets nothing and a
// Warning naming the zone, the other nodes undisturbed. sourceDestCheck: false for routing and UPF pods.
import type { NetworkInterface } from '@aws-sdk/client-ec2';
import type { NodeENI } from '../../common/nodeeni.js';
import { TestCluster, type TestNode } from '../support/cluster.js';
import { eventually, stack } from '../support/env.js';
import { proxy } from '../support/proxy.js';

const AZ_A = 'us-east-1a';
const AZ_B = 'us-east-1b';

describe('telco NodeENIs on nodes in two availability zones', () => {
  const c = new TestCluster();
  let inA: TestNode[];
  let inB: TestNode[];

  beforeAll(async () => {
    await proxy.reset();
    inA = await c.addNodes(2, { ng: c.nodeGroup }, { az: AZ_A });
    inB = await c.addNodes(1, { ng: c.nodeGroup }, { az: AZ_B });
    c.controller.start();
  }, 120000);
  afterAll(() => c.teardown(), 180000);

  const subnetNamed = (name: string) => stack().seed.subnets.find((s) => s.name === name)!;
  const manifest = (name: string, subnetNames: string[], extra: Partial<NodeENI['spec']> = {}): NodeENI => ({
    apiVersion: 'networking.k8s.aws/v1alpha1',
    kind: 'NodeENI',
    metadata: { name },
    spec: { nodeSelector: { ng: c.nodeGroup }, subnetNames, securityGroupIDs: [stack().seed.securityGroups[0]!.id], deviceIndex: 2, mtu: 9001, ...extra },
  });
  const enisOn = async (name: string, node: TestNode): Promise<NetworkInterface[]> =>
    (await c.enis([{ Name: 'tag:NodeENI', Values: [name] }, { Name: 'tag:Node', Values: [node.name] }])).sort((x, y) => (x.Attachment?.DeviceIndex ?? 0) - (y.Attachment?.DeviceIndex ?? 0));

  it("each node gets its own AZ's subnets, indexed by position among them; Ready", async () => {
    const name = `multi-az-${c.runId}`;
    // Interleaved on purpose: position in the spec is not the device index, position among the node's AZ's subnets is.
    const listed = ['multus-test-subnet-1', 'multus-test-subnet-3', 'multus-test-subnet-2', 'multus-test-subnet-4'];
    expect(listed.map((n) => subnetNamed(n).az)).toEqual([AZ_A, AZ_B, AZ_A, AZ_B]);
    await c.apply(manifest(name, listed));
    const obj = await c.waitReady(name, 6);
    const expected: [TestNode[], string[]][] = [
      [inA, ['multus-test-subnet-1', 'multus-test-subnet-2']],
      [inB, ['multus-test-subnet-3', 'multus-test-subnet-4']],
    ];
    for (const [nodes, names] of expected) {
      for (const n of nodes) {
        const enis = await enisOn(name, n);
        expect(enis.map((e) => [e.SubnetId, e.Attachment?.InstanceId, e.Attachment?.DeviceIndex, e.Attachment?.Status])).toEqual(
          names.map((sn, i) => [subnetNamed(sn).id, n.instanceId, 2 + i, 'attached']),
        );
        const status = obj.status!.attachments!.filter((a) => a.nodeID === n.name).sort((x, y) => x.deviceIndex! - y.deviceIndex!);
        expect(status.map((a) => [a.subnetID, a.eniID, a.deviceIndex, a.phase, a.mtu])).toEqual(enis.map((e, i) => [e.SubnetId, e.NetworkInterfaceId, 2 + i, 'Ready', 9001]));
        // On the node: one interface per ENI, at the slot of its device index, with the MTU.
        expect((await n.sim!.links()).map((l) => [l.ifname, l.address, l.mtu]).sort()).toEqual(enis.map((e, i) => [`eth${2 + i}`, e.MacAddress, 9001]).sort());
      }
    }
    await eventually('Ready=True, 6/6', async () => {
      const st = (await c.get(name))?.status;
      return st?.ready === '6/6' && st.conditions?.some((x) => x.type === 'Ready' && x.status === 'True');
    });
    await c.delete(name);
    await c.waitGone(name);
    expect(await c.enis([{ Name: 'tag:NodeENI', Values: [name] }])).toEqual([]);
  }, 240000);

  it("a node whose AZ has none of the listed subnets: nothing created there, a Warning naming the zone; the others Ready", async () => {
    const name = `one-az-${c.runId}`;
    await c.apply(manifest(name, ['multus-test-subnet-1']));
    const node = inB[0]!;
    const failed = await eventually(`${name}: ${node.name} Failed`, async () => {
      const o = await c.get(name);
      const a = o?.status?.attachments ?? [];
      const ready = a.filter((x) => x.phase === 'Ready' && inA.some((n) => n.name === x.nodeID));
      const f = a.find((x) => x.nodeID === node.name && x.phase === 'Failed');
      return ready.length === 2 && f ? { o, f } : false;
    }, 90000);
    expect(failed.f.message).toContain(`no listed subnet is in ${AZ_B}, the availability zone of the node's instance ${node.instanceId}: ${subnetNamed('multus-test-subnet-1').id} (${AZ_A})`);
    expect(failed.f.message).toContain('(spec.subnetName/subnetNames)');
    const degraded = await eventually('Degraded=True', async () => (await c.get(name))?.status?.conditions?.find((x) => x.type === 'Degraded' && x.status === 'True') ?? false);
    expect(degraded.message).toContain(`no listed subnet is in ${AZ_B}`);
    const warnings = await eventually('a Warning naming the zone', async () => {
      const w = (await c.events(name)).filter((e) => e.type === 'Warning' && e.message?.includes(`no listed subnet is in ${AZ_B}`));
      return w.length ? w : false;
    });
    expect(warnings[0]!.message).toContain(node.name);
    expect(await enisOn(name, node)).toEqual([]);
    for (const n of inA) expect((await enisOn(name, n)).map((e) => e.Attachment?.DeviceIndex)).toEqual([2]);
    await c.delete(name);
    await c.waitGone(name);
    expect(await c.enis([{ Name: 'tag:NodeENI', Values: [name] }])).toEqual([]);
  }, 240000);

  it('sourceDestCheck: false on every ENI in EC2 and in the status; true again after a spec change, same ENIs', async () => {
    const name = `no-sdc-${c.runId}`;
    // Two AZs by subnet ID this time: each node counts only its own AZ's, so the NodeENI is Ready at 3/3.
    const m = manifest(name, [], { sourceDestCheck: false });
    delete m.spec.subnetNames;
    m.spec.subnetIDs = [subnetNamed('multus-test-subnet-1').id, subnetNamed('multus-test-subnet-3').id];
    await c.apply(m);
    const obj = await c.waitReady(name, 3);
    const enis = await c.enis([{ Name: 'tag:NodeENI', Values: [name] }]);
    expect(enis).toHaveLength(3);
    expect(enis.map((e) => e.SourceDestCheck)).toEqual([false, false, false]);
    expect(obj.status!.attachments!.map((a) => a.sourceDestCheck)).toEqual([false, false, false]);
    await eventually('Ready=True, 3/3', async () => {
      const st = (await c.get(name))?.status;
      return st?.ready === '3/3' && st.conditions?.some((x) => x.type === 'Ready' && x.status === 'True');
    });

    await c.patchSpec(name, { sourceDestCheck: true });
    const after = await eventually('the checks back on, in EC2 and in the status', async () => {
      const now = await c.enis([{ Name: 'tag:NodeENI', Values: [name] }]);
      const st = (await c.get(name))?.status?.attachments ?? [];
      return now.every((e) => e.SourceDestCheck === true) && st.length === 3 && st.every((a) => a.sourceDestCheck === true && a.phase === 'Ready') ? now : false;
    }, 90000);
    expect(after.map((e) => e.NetworkInterfaceId).sort()).toEqual(enis.map((e) => e.NetworkInterfaceId).sort());
    await c.delete(name);
    await c.waitGone(name);
    expect(await c.enis([{ Name: 'tag:NodeENI', Values: [name] }])).toEqual([]);
  }, 240000);
});
