// Many NodeENIs on one node, more than its instance type takes (an m5.4xlarge: 8 network interfaces, the
// primary included): the ENIs that fit attach at distinct indexes, the others wait (Pending, with why) instead
// of failing and churning create/delete, and move in when a slot frees. An instance without this cluster's tag
// gets nothing.
import { DeleteTagsCommand } from '@aws-sdk/client-ec2';
import { clusterForSuite } from '../support/cluster.js';
import { eventually, stack } from '../support/env.js';
import { countsByAction, proxy } from '../support/proxy.js';
import type { NodeENI } from '../../common/nodeeni.js';
import { clusterTagKey } from '../../common/device-slots.js';

const COUNT = 12;
const SLOTS = 7; // m5.4xlarge: 8 network interfaces, index 0 is the primary

describe('device slots on a full node', () => {
  const c = clusterForSuite(1);

  const nodeENI = (i: number): NodeENI => ({
    apiVersion: 'networking.k8s.aws/v1alpha1',
    kind: 'NodeENI',
    metadata: { name: `slots-${i}` },
    spec: { nodeSelector: { ng: c.nodeGroup }, subnetID: stack().seed.subnets[i % 2]!.id, securityGroupIDs: [stack().seed.securityGroups[0]!.id], deviceIndex: 1 },
  });
  const attachmentsOf = async (names: string[]) => Promise.all(names.map(async (n) => ({ name: n, a: (await c.get(n))?.status?.attachments?.[0] })));

  it(`${COUNT} NodeENIs on a node with ${SLOTS} free slots: ${SLOTS} attach at distinct indexes, the rest wait without churn, and move in when a slot frees`, async () => {
    await proxy.resetCalls();
    const names = Array.from({ length: COUNT }, (_, i) => `slots-${i}`);
    await Promise.all(names.map((_, i) => c.apply(nodeENI(i))));

    const settled = await eventually(
      `${SLOTS} Ready and ${COUNT - SLOTS} waiting for a slot`,
      async () => {
        const all = await attachmentsOf(names);
        const ready = all.filter((x) => x.a?.phase === 'Ready');
        const waiting = all.filter((x) => x.a?.phase === 'Pending' && /no free device index/.test(x.a.message ?? ''));
        return ready.length === SLOTS && waiting.length === COUNT - SLOTS ? { ready, waiting } : false;
      },
      120000,
      500,
    );
    expect(settled.ready.map((x) => x.a!.deviceIndex).sort((a, b) => a! - b!)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // The index named is the one the last try asked for (1, or past indexes it found taken on the way).
    for (const w of settled.waiting) expect(w.a!.message).toMatch(/no free device index at or above \d+ on i-\w+ \(m5\.4xlarge takes 8 network interfaces\); in use: 0, 1, 2, 3, 4, 5, 6, 7$/);
    const waitingNames = settled.waiting.map((x) => x.name);
    // Nobody failed, nothing was created twice or deleted: no churn.
    let calls = countsByAction(await proxy.calls());
    expect(calls.DeleteNetworkInterface ?? 0).toBe(0);
    expect(calls.CreateNetworkInterface ?? 0).toBeLessThanOrEqual(COUNT);
    const enis = await c.enis();
    expect(enis.length).toBeLessThanOrEqual(COUNT);
    expect(enis.filter((e) => e.Attachment?.InstanceId === c.node(0).instanceId)).toHaveLength(SLOTS);
    const degradedOrFailed = (await attachmentsOf(names)).filter((x) => x.a?.phase === 'Failed');
    expect(degradedOrFailed).toEqual([]);
    const warned = await c.events(waitingNames[0]!);
    expect(warned.some((e) => e.type === 'Warning' && e.reason === 'NoFreeDeviceIndex')).toBe(true);
    // The NodeENI's Ready condition names the limit it waits on.
    const ready = await eventually('Ready=False naming the limit', async () => (await c.get(waitingNames[0]!))?.status?.conditions?.find((x) => x.type === 'Ready' && x.reason === 'WaitingForDeviceSlot') ?? false);
    expect(ready.message).toMatch(/^0\/1 attachments ready; waiting: node \S+ subnet \S+: (eni-\w+ is created and waits: )?no free device index at or above \d+ on i-\w+ \(m5\.4xlarge takes 8 network interfaces\)/);

    // Two Ready NodeENIs leave: two waiting ones take their slots within a minute or so.
    const leaving = settled.ready.slice(0, 2).map((x) => x.name);
    for (const n of leaving) await c.delete(n);
    for (const n of leaving) await c.waitGone(n);
    const moved = await eventually(
      'two waiting NodeENIs Ready',
      async () => {
        const now = (await attachmentsOf(waitingNames)).filter((x) => x.a?.phase === 'Ready');
        return now.length === 2 ? now : false;
      },
      150000,
      1000,
    );
    expect(new Set(moved.map((x) => x.a!.deviceIndex)).size).toBe(2);
    const onInstance = (await c.enis()).filter((e) => e.Attachment?.InstanceId === c.node(0).instanceId);
    expect(onInstance).toHaveLength(SLOTS);
    expect(new Set(onInstance.map((e) => e.Attachment!.DeviceIndex)).size).toBe(SLOTS);
    calls = countsByAction(await proxy.calls());
    // Only the two that left were deleted.
    expect(calls.DeleteNetworkInterface ?? 0).toBe(2);

    for (const n of names.filter((x) => !leaving.includes(x))) await c.delete(n);
    for (const n of names.filter((x) => !leaving.includes(x))) await c.waitGone(n);
    expect(await c.enis()).toHaveLength(0);
  }, 420000);

  it("an instance without this cluster's tag: nothing is created, the NodeENI is Degraded naming the tag", async () => {
    const [node] = await c.addNodes(1, { 'untagged-node': c.runId });
    await c.ec2.send(new DeleteTagsCommand({ Resources: [node!.instanceId], Tags: [{ Key: clusterTagKey(c.clusterName) }] }));
    await proxy.resetCalls();
    const obj = { ...nodeENI(0), metadata: { name: 'untagged-0' } };
    obj.spec.nodeSelector = { 'untagged-node': c.runId };
    await c.apply(obj);
    const degraded = await eventually('Degraded naming the cluster tag', async () => {
      const d = (await c.get('untagged-0'))?.status?.conditions?.find((x) => x.type === 'Degraded' && x.status === 'True');
      return d ?? false;
    });
    expect(degraded.message).toContain(`${node!.instanceId} does not carry the tag ${clusterTagKey(c.clusterName)}=owned|shared`);
    expect(countsByAction(await proxy.calls()).CreateNetworkInterface ?? 0).toBe(0);
    expect(await c.enis()).toHaveLength(0);
    await c.delete('untagged-0');
    await c.waitGone('untagged-0');
  }, 180000);
});
