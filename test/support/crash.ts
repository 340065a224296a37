// What the crash tests share (the controller's, test/controller/crash.test.ts, and the stack's,
// test/controller/stack-crash.test.ts): a cluster of their own, a NodeENI with one ENI per subnet, the EC2
// fault proxy's hold on one of this test's calls, and the check that each (NodeENI, node, subnet) has exactly one ENI.
import { DescribeNetworkInterfacesCommand, type NetworkInterface } from '@aws-sdk/client-ec2';
import { TestCluster } from './cluster.js';
import { eventually, stack } from './env.js';
import { hold, type HeldCall } from './proxy.js';
import type { NodeENI } from '../../common/nodeeni.js';

export const DEVICE_INDEX = 2;

export const tagsOf = (n: NetworkInterface) => Object.fromEntries((n.TagSet ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));

/** A NodeENI for this cluster's nodes only (other test runs share the apiserver), one ENI per subnet. */
export function nodeENI(c: TestCluster, name: string, subnetIDs: string[]): NodeENI {
  return {
    apiVersion: 'networking.k8s.aws/v1alpha1',
    kind: 'NodeENI',
    metadata: { name },
    spec: {
      nodeSelector: { 'crash-test': c.runId },
      subnetIDs,
      securityGroupIDs: [stack().seed.securityGroups[0]!.id],
      deviceIndex: DEVICE_INDEX,
      description: `crash test ${name}`,
    },
  };
}

export async function newCluster(nodes: number): Promise<TestCluster> {
  const c = new TestCluster();
  // Only this label: other runs' NodeENIs (nodeSelector ng: multi-eni) must not land on these nodes.
  await c.addNodes(nodes, { 'crash-test': c.runId });
  c.controller.start();
  return c;
}

/** Every ENI in EC2 tagged for the NodeENI, whatever else it carries (straight from the emulator). */
export async function enisOf(c: TestCluster, name: string): Promise<NetworkInterface[]> {
  const r = await c.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'tag:NodeENI', Values: [name] }] }));
  return r.NetworkInterfaces ?? [];
}

export async function eniById(c: TestCluster, id: string): Promise<NetworkInterface | undefined> {
  try {
    const r = await c.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [id] }));
    return r.NetworkInterfaces?.[0];
  } catch (e) {
    if ((e as { name?: string }).name === 'InvalidNetworkInterfaceID.NotFound') return undefined;
    throw e;
  }
}

/** ENIs attached to an instance besides its primary one. */
export async function secondaryEnis(c: TestCluster, instanceId: string): Promise<NetworkInterface[]> {
  const r = await c.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }] }));
  return (r.NetworkInterfaces ?? []).filter((n) => (n.Attachment?.DeviceIndex ?? 0) > 0);
}

/**
 * Waits until the proxy holds an answer of `action` that is this test's (`belongs` returns true, or what it
 * found instead). The stack may be shared with another run: a call of theirs caught by the hold is let go and
 * the hold re-armed, and so is a hold that a reset of theirs cleared.
 */
export async function waitHeld(action: string, belongs: (h: HeldCall) => Promise<true | string>): Promise<HeldCall[]> {
  let polls = 0;
  const foreign: string[] = [];
  const wait = eventually(`a held ${action} of this test`, async () => {
    const held = (await hold.held()).filter((x) => x.action === action);
    if (held.length === 0) {
      if (++polls % 20 === 0) await hold.set(action, 1);
      return false;
    }
    const verdicts = await Promise.all(held.map((h) => belongs(h)));
    if (verdicts.every((v) => v === true)) return held;
    foreign.push(...verdicts.filter((v): v is string => v !== true));
    await hold.release();
    await hold.set(action, 1);
    return false;
  }, 60000, 100);
  return wait.catch((e: Error) => {
    throw new Error(`${e.message}${foreign.length ? `; let go as not this test's: ${foreign.join('; ')}` : ''}`);
  });
}

/**
 * What a user checks after the dust settles: in EC2 exactly one ENI per (NodeENI, node, subnet), attached
 * to the node's instance at deviceIndex + the subnet's position, nothing else attached to the instances;
 * the NodeENI's status names exactly those ENIs, all Ready.
 */
export async function expectOneEniPerSubnet(c: TestCluster, obj: NodeENI, subnets: string[]): Promise<Map<string, NetworkInterface>> {
  const name = obj.metadata.name;
  const enis = await enisOf(c, name);
  expect(enis).toHaveLength(c.nodes.length * subnets.length);
  const byKey = new Map<string, NetworkInterface>();
  for (const n of c.nodes) {
    for (const [pos, subnet] of subnets.entries()) {
      const mine = enis.filter((e) => tagsOf(e).Node === n.name && e.SubnetId === subnet);
      expect(mine.map((e) => e.NetworkInterfaceId)).toHaveLength(1);
      const e = mine[0]!;
      expect(tagsOf(e)).toMatchObject({ NodeENI: name, Node: n.name, SubnetID: subnet, 'multi-eni.networking.k8s.aws/cluster': c.clusterName });
      expect(e.Status).toBe('in-use');
      expect(e.Attachment).toMatchObject({ InstanceId: n.instanceId, DeviceIndex: DEVICE_INDEX + pos, Status: 'attached' });
      const a = obj.status?.attachments?.filter((x) => x.nodeID === n.name && x.subnetID === subnet) ?? [];
      expect(a).toHaveLength(1);
      expect(a[0]).toMatchObject({ eniID: e.NetworkInterfaceId, instanceID: n.instanceId, deviceIndex: DEVICE_INDEX + pos, attachmentID: e.Attachment!.AttachmentId, phase: 'Ready', status: 'attached' });
      byKey.set(`${n.name}/${subnet}`, e);
    }
    // No stray ENI (untagged, or a duplicate) attached to the instance either.
    const attached = await secondaryEnis(c, n.instanceId);
    expect(attached.map((e) => e.NetworkInterfaceId).sort()).toEqual(subnets.map((s) => byKey.get(`${n.name}/${s}`)!.NetworkInterfaceId).sort());
  }
  expect(obj.status?.attachments).toHaveLength(c.nodes.length * subnets.length);
  return byKey;
}
