// Editing a NodeENI reconverges its pairs: an MTU change reconfigures the interface in place, a device-index
// change re-attaches the same ENI, a subnet change replaces the ENI. The pair's state is queryable.
import { clusterForSuite } from '../support/cluster.js';
import { eventually, stack, temporalClient } from '../support/env.js';
import { countsByAction, proxy } from '../support/proxy.js';
import type { PairState } from '../../common/lifecycle-contract.js';

describe('spec changes on a running pair', () => {
  const c = clusterForSuite(1);

  const attachment = async () => (await c.get('jumbo-frames-eni'))?.status?.attachments?.[0];

  it('MTU: reconfigured on the node, same ENI, no EC2 write', async () => {
    const node = c.node(0);
    await c.apply(c.seed('jumbo-frames.yaml'));
    const before = (await c.waitReady('jumbo-frames-eni', 1)).status!.attachments![0]!;
    await proxy.resetCalls();
    await c.patchSpec('jumbo-frames-eni', { mtu: 1500 });
    await eventually('MTU 1500 applied', async () => (await node.sim!.links()).find((l) => l.ifname === 'eth2')?.mtu === 1500);
    const after = await eventually('status shows MTU 1500', async () => {
      const a = await attachment();
      return a?.mtu === 1500 && a.phase === 'Ready' ? a : false;
    });
    expect(after.eniID).toBe(before.eniID);
    const calls = countsByAction(await proxy.calls());
    for (const write of ['CreateNetworkInterface', 'AttachNetworkInterface', 'DetachNetworkInterface', 'DeleteNetworkInterface']) expect(calls[write] ?? 0).toBe(0);
  }, 180000);

  it('device index: the same ENI detached and attached at the new index', async () => {
    const before = (await attachment())!;
    await c.patchSpec('jumbo-frames-eni', { deviceIndex: 4 });
    const after = await eventually('re-attached at 4', async () => {
      const a = await attachment();
      // A re-attachment is a new device to the node: the link comes back as eth<new index>.
      return a?.deviceIndex === 4 && a.phase === 'Ready' && a.interfaceName === 'eth4' ? a : false;
    });
    expect(after.eniID).toBe(before.eniID);
    expect(after.attachmentID).not.toBe(before.attachmentID);
    expect(after.interfaceName).toBe('eth4');
    const enis = await c.enis();
    expect(enis).toHaveLength(1);
    expect(enis[0]!.Attachment).toMatchObject({ DeviceIndex: 4, InstanceId: c.node(0).instanceId });
  }, 180000);

  it('subnet: a new ENI in the new subnet, the old one deleted; the query tells the pair state', async () => {
    const s = stack();
    const before = (await attachment())!;
    await c.patchSpec('jumbo-frames-eni', { subnetID: s.seed.subnets[2]!.id });
    const after = await eventually('replaced in the new subnet', async () => {
      const list = (await c.get('jumbo-frames-eni'))?.status?.attachments ?? [];
      return list.length === 1 && list[0]!.subnetID === s.seed.subnets[2]!.id && list[0]!.phase === 'Ready' ? list[0]! : false;
    });
    expect(after.eniID).not.toBe(before.eniID);
    const enis = await c.enis();
    expect(enis.map((e) => [e.NetworkInterfaceId, e.SubnetId])).toEqual([[after.eniID, s.seed.subnets[2]!.id]]);

    const { client, connection } = await temporalClient();
    const state = await client.workflow.getHandle(`nodeeni/jumbo-frames-eni/${c.node(0).name}`).query<PairState>('state');
    await connection.close();
    expect(state).toMatchObject({ phase: 'Ready', releasing: false, desired: { nodeENI: 'jumbo-frames-eni', instanceId: c.node(0).instanceId } });
    expect(state.enis).toEqual([expect.objectContaining({ eniId: after.eniID, subnetId: s.seed.subnets[2]!.id, deviceIndex: 4, phase: 'Ready' })]);
  }, 180000);
});
