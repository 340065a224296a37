// Through the fault proxy, the controller meets EC2 as it really behaves: throttling, `attaching` states,
// unknown subnets and taken device indexes.
import { AttachNetworkInterfaceCommand, CreateNetworkInterfaceCommand } from '@aws-sdk/client-ec2';
import { clusterForSuite } from '../support/cluster.js';
import { eventually, stack, temporalClient } from '../support/env.js';
import { hold, proxy } from '../support/proxy.js';

describe('EC2 faults and real EC2 semantics', () => {
  const c = clusterForSuite(2);
  afterEach(async () => {
    await hold.release();
    await proxy.reset();
  });

  it('converges with 30% of calls throttled and attachments passing through `attaching`', async () => {
    const s = stack();
    await proxy.faults({ throttleRate: 0.3, seed: 7 });
    await proxy.semantics({ attachingMs: 2000 });
    const obj = c.seed('multus-eni-config.yaml');
    obj.spec.subnetID = undefined;
    obj.spec.subnetIDs = [s.seed.subnets[0]!.id, s.seed.subnets[2]!.id];
    await c.apply(obj);
    const ready = await c.waitReady('multus-eni-config', 4, 150000);
    const calls = await proxy.calls();
    const throttled = Object.values(calls.byAction).reduce((n, a) => n + (a.outcomes['throttled'] ?? 0), 0);
    expect(throttled).toBeGreaterThan(0);
    // Retries never double an ENI: exactly one per (node, subnet), each attached to its node.
    const enis = await c.enis();
    expect(enis).toHaveLength(4);
    for (const a of ready.status!.attachments!) {
      const e = enis.find((x) => x.NetworkInterfaceId === a.eniID)!;
      expect(e.Attachment?.InstanceId).toBe(c.nodes.find((n) => n.name === a.nodeID)!.instanceId);
      expect(e.SubnetId).toBe(a.subnetID);
    }
    await proxy.faults({ throttleRate: 0 });
    await c.delete('multus-eni-config');
    await c.waitGone('multus-eni-config');
    expect(await c.enis()).toHaveLength(0);
  }, 240000);

  it('a nonexistent subnet gives Degraded and a Warning Event with EC2\'s message, leaks nothing, disturbs nothing', async () => {
    const good = c.seed('jumbo-frames.yaml');
    await c.apply(good);
    await c.waitReady('jumbo-frames-eni', 2);
    const before = (await c.enis()).map((e) => e.NetworkInterfaceId).sort();

    const bad = c.seed('case1-control-plane.yaml');
    bad.spec.subnetID = 'subnet-0a1b2c3d4e5f6g7h8'; // the blog's illustrative ID: valid shape, absent in EC2
    bad.spec.deviceIndex = 3;
    await c.apply(bad);
    const degraded = await eventually('Degraded condition', async () => {
      const o = await c.get('control-plane-eni');
      const d = o?.status?.conditions?.find((x) => x.type === 'Degraded' && x.status === 'True');
      return d ? { o, d } : false;
    });
    expect(degraded.d.message).toContain('InvalidSubnetID.NotFound');
    expect(degraded.d.message).toContain('subnet-0a1b2c3d4e5f6g7h8');
    expect(degraded.o!.status!.attachments!.every((a) => a.phase === 'Failed' && !a.eniID)).toBe(true);
    const warnings = (await c.events('control-plane-eni')).filter((e) => e.type === 'Warning');
    expect(warnings.some((e) => /InvalidSubnetID\.NotFound.*does not exist/.test(e.message ?? ''))).toBe(true);
    // No ENI created for it, and the other NodeENI's ENIs are exactly as they were.
    expect((await c.enis()).map((e) => e.NetworkInterfaceId).sort()).toEqual(before);
    expect((await c.get('jumbo-frames-eni'))!.status!.attachments!.every((a) => a.phase === 'Ready')).toBe(true);

    // Not left for good: the pair schedules a retry (a minute first), as an address or a limit may free up.
    const { client, connection } = await temporalClient();
    const retry = await eventually('a retry timer in the history', async () => {
      const h = await client.workflow.getHandle(`nodeeni/control-plane-eni/${c.node(0).name}`).fetchHistory();
      return h.events?.find((e) => e.timerStartedEventAttributes)?.timerStartedEventAttributes ?? false;
    });
    await connection.close();
    expect(Number(retry.startToFireTimeout?.seconds)).toBe(60);

    // Fixing the spec recovers without touching anything else.
    await c.patchSpec('control-plane-eni', { subnetID: stack().seed.subnets[0]!.id });
    await c.waitReady('control-plane-eni', 2);
    await eventually('Degraded cleared', async () => (await c.get('control-plane-eni'))?.status?.conditions?.find((x) => x.type === 'Degraded' && x.status === 'False'));
    for (const name of ['control-plane-eni', 'jumbo-frames-eni']) await c.delete(name);
    for (const name of ['control-plane-eni', 'jumbo-frames-eni']) await c.waitGone(name);
  }, 240000);

  it('a device index taken after the pass planned it: the attach moves to the next free one', async () => {
    const s = stack();
    const node = c.node(0);
    await c.setNodeLabels(c.node(1).name, { ng: null });
    // Hold the controller's create so a foreign ENI can take index 2 after the controller planned it.
    await hold.set('CreateNetworkInterface', 1);
    await c.apply(c.seed('jumbo-frames.yaml'));
    await eventually('create held', async () => (await hold.held()).length === 1);
    const foreign = await c.ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: s.seed.subnets[0]!.id, Groups: [s.seed.securityGroups[0]!.id] }));
    await c.ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: foreign.NetworkInterface!.NetworkInterfaceId, InstanceId: node.instanceId, DeviceIndex: 2 }));
    await hold.release();

    const ready = await c.waitReady('jumbo-frames-eni', 1);
    expect(ready.status!.attachments![0]).toMatchObject({ nodeID: node.name, deviceIndex: 3, interfaceName: 'eth3' });
    const attaches = (await proxy.calls()).recent.filter((r) => r.action === 'AttachNetworkInterface');
    // Taken by an attach this controller did not make: refused once, then the next free index after a fresh look.
    expect(attaches.map((r) => [r.params.DeviceIndex, r.outcome])).toEqual([
      ['2', 'InvalidParameterValue'],
      ['3', 'ok'],
    ]);
    await c.delete('jumbo-frames-eni');
    await c.waitGone('jumbo-frames-eni');
    await c.setNodeLabels(c.node(1).name, { ng: c.nodeGroup });
  }, 240000);
});
