// Crash safety of the node agent, end to end: the agent runs as a process of its own on a simulated
// node (dev/stack/sim/node-process.ts) and is killed with SIGKILL in the middle of its work, held there by a test
// hook (an `ip` command or a sysfs write that never returns), then started again over the same node (its sysfs
// tree, links, state dir and device plugin config outlive the agent, as on a real node). Afterwards: exactly one
// ENI per (NodeENI, node, subnet), attached where the spec says, the interface configured as the spec says, the
// attachment Ready; a release leaves no ENI and the device as it was before the NodeENI.
import fs from 'node:fs';
import path from 'node:path';
import { DescribeNetworkInterfacesCommand, type NetworkInterface } from '@aws-sdk/client-ec2';
import { TestCluster, type TestNode } from '../support/cluster.js';
import { eventually, uniq } from '../support/env.js';
import type { NodeProcess } from '../support/node-process.js';
import { proxy } from '../support/proxy.js';
import { isUp, type NsLink } from '../../dev/stack/sim/netns.js';
import { pciForDeviceIndex } from '../../dev/stack/sim/simulated-node.js';
import type { NodeENI } from '../../common/nodeeni.js';

// The retried configure starts once Temporal has noticed the dead worker: the agent's heartbeat timeout (30 s).
const AFTER_CRASH_MS = 120_000;

const tagsOf = (n: NetworkInterface) => Object.fromEntries((n.TagSet ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
const view = (l: NsLink) => ({ ifname: l.ifname, mtu: l.mtu, up: isUp(l) });

describe('kill -9 of the node agent', () => {
  const c = new TestCluster();
  let node: TestNode;
  let proc: NodeProcess;

  beforeAll(async () => {
    await proxy.reset();
    [node] = (await c.addNodes(1, { ng: c.nodeGroup }, { process: true })) as [TestNode];
    proc = node.proc!;
    c.controller.start();
  }, 120000);
  // A failed test may leave the agent held: free it, so the teardown's releases can run.
  afterEach(async () => {
    if (proc.holding) {
      await proc.kill9();
      await proc.start();
    }
  }, 60000);
  afterAll(() => c.teardown(), 180000);

  /** A seed manifest under a name of this test's own (the apiserver may be shared with other runs). */
  function seedENI(file: string, prefix: string): NodeENI {
    const obj = c.seed(file);
    obj.metadata.name = uniq(prefix);
    return obj;
  }

  async function enisOf(name: string): Promise<NetworkInterface[]> {
    const r = await c.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'tag:NodeENI', Values: [name] }] }));
    return r.NetworkInterfaces ?? [];
  }

  /** ENIs attached to the node's instance besides its primary one. */
  async function secondaryEnis(): Promise<NetworkInterface[]> {
    const r = await c.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [node.instanceId] }] }));
    return (r.NetworkInterfaces ?? []).filter((n) => (n.Attachment?.DeviceIndex ?? 0) > 0);
  }

  /** EC2 and the status agree on exactly one ENI for the NodeENI on the node, attached at the spec's index. */
  async function expectOneEni(obj: NodeENI): Promise<NetworkInterface> {
    const name = obj.metadata.name;
    const enis = await enisOf(name);
    expect(enis.map((e) => e.NetworkInterfaceId)).toHaveLength(1);
    const e = enis[0]!;
    expect(tagsOf(e)).toMatchObject({ NodeENI: name, Node: node.name, SubnetID: obj.spec.subnetID, 'multi-eni.networking.k8s.aws/cluster': c.clusterName });
    expect(e.Status).toBe('in-use');
    expect(e.Attachment).toMatchObject({ InstanceId: node.instanceId, DeviceIndex: obj.spec.deviceIndex, Status: 'attached' });
    // Nothing else (a duplicate, an untagged leftover) attached to the instance.
    expect((await secondaryEnis()).map((x) => x.NetworkInterfaceId)).toEqual([e.NetworkInterfaceId]);
    expect(obj.status?.attachments).toHaveLength(1);
    expect(obj.status!.attachments![0]).toMatchObject({
      nodeID: node.name,
      instanceID: node.instanceId,
      eniID: e.NetworkInterfaceId,
      attachmentID: e.Attachment!.AttachmentId,
      macAddress: e.MacAddress,
      deviceIndex: obj.spec.deviceIndex,
      phase: 'Ready',
    });
    return e;
  }

  /** The ENI the controller made for the NodeENI, once it is attached (the agent is then about to configure it). */
  const attachedEni = (name: string) =>
    eventually(`the ENI of ${name} attached`, async () => {
      const enis = await enisOf(name);
      return enis.length === 1 && enis[0]!.Attachment?.Status === 'attached' ? enis[0]! : false;
    });

  const linksWithMac = async (mac: string) => (await proc.links()).filter((l) => l.address === mac);

  async function releaseAndExpectNoLeak(name: string, mac: string): Promise<void> {
    await c.delete(name);
    await c.waitGone(name, AFTER_CRASH_MS);
    expect(await enisOf(name)).toEqual([]);
    expect(await secondaryEnis()).toEqual([]);
    // With the ENI detached its device is unplugged, link and all.
    await eventually(`no link with MAC ${mac} left`, async () => (await linksWithMac(mac)).length === 0);
  }

  it('during configure (MTU set, the link not yet up): after the restart Ready, one ENI, the link up with the MTU; the release leaves nothing', async () => {
    const obj = seedENI('jumbo-frames.yaml', 'agent-crash-mtu');
    const name = obj.metadata.name;
    expect(obj.spec).toMatchObject({ deviceIndex: 2, mtu: 9001 });
    const ifname = `eth${obj.spec.deviceIndex}`;
    await proc.stop();
    await proc.start({ ip: `link set dev ${ifname} up` });
    await c.apply(obj);

    expect(await proc.waitLine(/^held ip /, AFTER_CRASH_MS)).toBe(`held ip link set dev ${ifname} up`);
    const eni = await attachedEni(name);
    const mac = eni.MacAddress!;
    // Half done at the kill: the MTU set, the link still down, the attachment not Ready.
    expect((await linksWithMac(mac)).map(view)).toEqual([{ ifname, mtu: 9001, up: false }]);
    expect((await c.get(name))?.status?.attachments?.map((a) => a.phase) ?? []).not.toContain('Ready');
    await proc.kill9();
    await proc.start();

    const ready = await c.waitReady(name, 1, AFTER_CRASH_MS);
    const e = await expectOneEni(ready);
    expect(e.NetworkInterfaceId).toBe(eni.NetworkInterfaceId);
    expect(ready.status!.attachments![0]).toMatchObject({ interfaceName: ifname, mtu: 9001 });
    expect((await linksWithMac(mac)).map(view)).toEqual([{ ifname, mtu: 9001, up: true }]);

    await releaseAndExpectNoLeak(name, mac);
    // The agent set the link down before the ENI was detached.
    expect(proc.lines(new RegExp(`^unplugged \\S+ ${mac} `))).toEqual([`unplugged ${pciForDeviceIndex(obj.spec.deviceIndex!)} ${mac} driver ena link down`]);
  }, 300000);

  it('during the DPDK bind (unbound from ena, vfio-pci bind in flight): after the restart bound once, Ready; the release gives the device back to ena', async () => {
    const obj = seedENI('case3-dpdk.yaml', 'agent-crash-dpdk');
    const name = obj.metadata.name;
    expect(obj.spec).toMatchObject({ deviceIndex: 4, enableDPDK: true, dpdkDriver: 'vfio-pci', dpdkPCIAddress: '0000:00:08.0', dpdkResourceName: 'intel.com/intel_sriov_netdevice' });
    const pci = obj.spec.dpdkPCIAddress!;
    expect(pciForDeviceIndex(obj.spec.deviceIndex!)).toBe(pci); // the simulation puts the ENI there
    await proc.stop();
    await proc.start({ sysfsWrite: 'bus/pci/drivers/vfio-pci/bind' });
    const heldRun = proc.run;
    await c.apply(obj);

    expect(await proc.waitLine(/^held sysfs write /, AFTER_CRASH_MS)).toBe(`held sysfs write bus/pci/drivers/vfio-pci/bind ${pci}`);
    const eni = await attachedEni(name);
    const mac = eni.MacAddress!;
    // Half done at the kill: the device left ena (its link with it) and has no driver yet.
    expect(proc.lines(/^sysfs write/, heldRun)).toEqual([`sysfs write bus/pci/drivers/ena/unbind ${pci}`, `sysfs write bus/pci/devices/${pci}/driver_override vfio-pci`]);
    expect(proc.driverOf(pci)).toBeUndefined();
    expect(await linksWithMac(mac)).toEqual([]);
    await proc.kill9();
    await proc.start();
    const afterRun = proc.run;

    const ready = await c.waitReady(name, 1, AFTER_CRASH_MS);
    await expectOneEni(ready);
    expect(ready.status!.attachments![0]).toMatchObject({ dpdkBound: true, dpdkDriver: 'vfio-pci', dpdkPCIAddress: pci, dpdkResourceName: 'intel.com/intel_sriov_netdevice' });
    expect(proc.driverOf(pci)).toBe('vfio-pci');
    expect(await linksWithMac(mac)).toEqual([]);
    // Bound exactly once: the restarted agent made the one write left, nothing unbound or bound again.
    expect(proc.lines(/^sysfs write/, afterRun)).toEqual([`sysfs write bus/pci/drivers/vfio-pci/bind ${pci}`]);
    expect(proc.pcidpConfig()).toEqual({
      resourceList: [{ resourcePrefix: 'intel.com', resourceName: 'intel_sriov_netdevice', selectors: [{ drivers: ['vfio-pci'], pciAddresses: [pci] }] }],
    });

    await releaseAndExpectNoLeak(name, mac);
    // Back to ena, the driver the agent recorded before the unbind (a bind of ena, not a probe for any driver),
    // before the ENI was detached.
    expect(proc.lines(/^sysfs write/, afterRun)).toEqual([
      `sysfs write bus/pci/drivers/vfio-pci/bind ${pci}`,
      `sysfs write bus/pci/drivers/vfio-pci/unbind ${pci}`,
      `sysfs write bus/pci/devices/${pci}/driver_override "\\n"`,
      `sysfs write bus/pci/drivers/ena/bind ${pci}`,
    ]);
    expect(proc.lines(new RegExp(`^unplugged \\S+ ${mac} `))).toEqual([`unplugged ${pci} ${mac} driver ena link down`]);
    expect(proc.pcidpConfig()).toEqual({ resourceList: [] });
    // Nothing half-done left in the agent's records.
    expect(fs.readdirSync(path.join(proc.dir, 'state')).filter((f) => f.startsWith('dpdk-'))).toEqual([]);
  }, 300000);
});
