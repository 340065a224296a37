// kill -9 of the controller at the crash points crash.test.ts does not reach: while tagging an ENI it adopts, while
// compensating a create whose attach failed, in a run that continued as new, and before a create reaches EC2. After each, exactly one ENI per
// (NodeENI, node, subnet), where the spec says, and a release that leaves nothing.
import { AttachNetworkInterfaceCommand, CreateNetworkInterfaceCommand, CreateTagsCommand, DeleteTagsCommand } from '@aws-sdk/client-ec2';
import type { Client } from '@temporalio/client';
import type { TestCluster } from '../support/cluster.js';
import { eventually, stack, temporalClient, uniq } from '../support/env.js';
import { hold, proxy } from '../support/proxy.js';
import {
  AFTER_CRASH_MS,
  DEVICE_INDEX,
  afterTest,
  callsSince,
  cleanUp,
  crashAndRestart,
  deleteAndExpectNoLeak,
  eniById,
  enisOf,
  expectOneEniPerSubnet,
  holdACreate,
  newCluster,
  nodeENI,
  tagsOf,
  waitHeld,
} from '../support/crash.js';
import { clusterTagKey } from '../../common/device-slots.js';
import { lifecycleWorkflowId, TAG_CLUSTER } from '../../common/names.js';

const subnets = () => [stack().seed.subnets[0]!.id, stack().seed.subnets[1]!.id];

describe('kill -9 of the controller at the other crash points', () => {
  let c: TestCluster;
  let current: string | undefined;
  let client: Client;
  let closeTemporal: () => Promise<void>;

  beforeAll(async () => {
    await proxy.reset();
    // A pair at rest continues as new once its history passes 20 events: after every pass.
    c = await newCluster(2, { LIFECYCLE_HISTORY_LIMIT: '20' });
    const t = await temporalClient();
    client = t.client;
    closeTemporal = () => t.connection.close();
  }, 120000);
  afterEach(async () => {
    // Whatever a failed test left: every node's instance carries the cluster tag again.
    await c.ec2.send(new CreateTagsCommand({ Resources: c.nodes.map((n) => n.instanceId), Tags: [{ Key: clusterTagKey(c.clusterName), Value: 'owned' }] }));
    await afterTest(c, current);
  }, AFTER_CRASH_MS + 30000);
  afterAll(async () => {
    await closeTemporal?.();
    await cleanUp(c);
  }, 300000);

  it("while tagging the Go controller's ENI it adopts: adopted once, in place, tagged; no second ENI", async () => {
    const name = (current = uniq('crash-adopt'));
    const node = c.node(0);
    const [subnet] = subnets();
    // What the Go controller leaves: its tags, no cluster tag, attached where the spec asks.
    const goEni = (
      await c.ec2.send(
        new CreateNetworkInterfaceCommand({
          SubnetId: subnet,
          Groups: [stack().seed.securityGroups[0]!.id],
          TagSpecifications: [{ ResourceType: 'network-interface', Tags: [{ Key: 'NodeENI', Value: name }, { Key: 'Node', Value: node.name }, { Key: 'SubnetID', Value: subnet! }] }],
        }),
      )
    ).NetworkInterface!;
    const goAttachment = await c.ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: goEni.NetworkInterfaceId!, InstanceId: node.instanceId, DeviceIndex: DEVICE_INDEX }));
    const mark = (await proxy.calls()).total;
    await hold.set('CreateTags', 1);
    await c.apply(nodeENI(c, name, [subnet!]));

    // The tags reached EC2; the worker never heard so.
    await waitHeld('CreateTags', async (h) => h.params.ResourceId === goEni.NetworkInterfaceId || `tags for ${h.params.ResourceId}`);
    expect(tagsOf((await eniById(c, goEni.NetworkInterfaceId!))!)[TAG_CLUSTER]).toBe(c.clusterName);
    await crashAndRestart(c);

    const obj = await c.waitReady(name, 2, AFTER_CRASH_MS);
    const enis = await expectOneEniPerSubnet(c, obj, [subnet!]);
    // Adopted where it was: same ENI, same attachment, never detached or created again for that node.
    expect(enis.get(`${node.name}/${subnet}`)).toMatchObject({ NetworkInterfaceId: goEni.NetworkInterfaceId, Attachment: { AttachmentId: goAttachment.AttachmentId, DeviceIndex: DEVICE_INDEX } });
    const since = await callsSince(mark);
    expect(since.filter((r) => r.action === 'DetachNetworkInterface' && r.params.AttachmentId === goAttachment.AttachmentId)).toEqual([]);
    expect(since.filter((r) => r.action === 'AttachNetworkInterface' && r.params.NetworkInterfaceId === goEni.NetworkInterfaceId)).toEqual([]);
    // One create in all (one ClientToken), for the other node.
    const created = since.filter((r) => r.action === 'CreateNetworkInterface' && r.status === 200 && r.params.SubnetId === subnet);
    expect(new Set(created.map((r) => r.params.ClientToken)).size).toBe(1);
    expect((await enisOf(c, name)).map((e) => e.NetworkInterfaceId).sort()).toEqual([...enis.values()].map((e) => e.NetworkInterfaceId).sort());
    await deleteAndExpectNoLeak(c, name);
  }, 400000);

  it('while compensating a create whose attach failed: the ENI is deleted once, nothing leaks, and the pair recovers', async () => {
    const name = (current = uniq('crash-undo'));
    const [subnet] = subnets();
    const { eniId: heldEniId } = await holdACreate(c, name, () => c.apply(nodeENI(c, name, [subnet!])));
    const heldNodeName = tagsOf((await eniById(c, heldEniId))!).Node;
    const heldNode = c.nodes.find((n) => n.name === heldNodeName)!;
    // The node's instance loses this cluster's tag while the create's answer is lost: the attach is refused
    // (InstanceNotInCluster) and the created ENI must be compensated.
    await c.ec2.send(new DeleteTagsCommand({ Resources: [heldNode.instanceId], Tags: [{ Key: clusterTagKey(c.clusterName) }] }));
    const mark = (await proxy.calls()).total;
    await c.controller.kill9();
    await hold.release();
    await hold.set('DeleteNetworkInterface', 1);
    c.controller.start();

    // The compensating delete reached EC2 (the ENI is gone) and its answer was lost with the worker.
    // (After the restart the lost create is retried once its heartbeat times out: up to a minute.)
    await waitHeld('DeleteNetworkInterface', async (h) => h.params.NetworkInterfaceId === heldEniId || `delete of ${h.params.NetworkInterfaceId}`, AFTER_CRASH_MS);
    expect(await eniById(c, heldEniId)).toBeUndefined();
    await crashAndRestart(c);

    const failed = await eventually('the pair on the untagged instance Failed, naming the tag', async () => {
      const a = (await c.get(name))?.status?.attachments?.find((x) => x.nodeID === heldNode.name);
      return a?.phase === 'Failed' ? a : false;
    }, AFTER_CRASH_MS);
    expect(failed.message).toContain(`does not carry the tag ${clusterTagKey(c.clusterName)}=owned|shared`);
    expect(failed.eniID).toBeUndefined();
    expect((await enisOf(c, name)).filter((e) => tagsOf(e).Node === heldNode.name)).toEqual([]);
    // The retried delete found the ENI gone and counted it done; no create followed for that node.
    const since = await callsSince(mark);
    expect(since.filter((r) => r.action === 'DeleteNetworkInterface' && r.params.NetworkInterfaceId === heldEniId).map((r) => r.outcome)).toEqual(['ok', 'InvalidNetworkInterfaceID.NotFound']);

    // Tagged again, the pair recovers by itself on its retry (no spec change needed).
    await c.ec2.send(new CreateTagsCommand({ Resources: [heldNode.instanceId], Tags: [{ Key: clusterTagKey(c.clusterName), Value: 'owned' }] }));
    const obj = await c.waitReady(name, 2, AFTER_CRASH_MS);
    const enis = await expectOneEniPerSubnet(c, obj, [subnet!]);
    expect(enis.get(`${heldNode.name}/${subnet}`)!.NetworkInterfaceId).not.toBe(heldEniId);
    await deleteAndExpectNoLeak(c, name);
  }, 500000);

  it('in a run that continued as new: the create lost with the crash is the same ENI after, earlier ENIs stay', async () => {
    const name = (current = uniq('crash-can'));
    const [first, second] = subnets();
    await c.apply(nodeENI(c, name, [first!]));
    const before = await expectOneEniPerSubnet(c, await c.waitReady(name, 2), [first!]);
    const ids = c.nodes.map((n) => lifecycleWorkflowId(name, n.name));
    const runsOf = async (id: string) => {
      const out: string[] = [];
      for await (const wf of client.workflow.list({ query: `WorkflowId="${id}"` })) out.push(wf.status.name);
      return out.sort();
    };
    // Each pair rested past its history limit and continued as new.
    await eventually('both pairs continued as new', async () => (await Promise.all(ids.map(runsOf))).every((r) => r.includes('CONTINUED_AS_NEW')));

    const mark = (await proxy.calls()).total;
    const { call: held, eniId: heldEniId } = await holdACreate(c, name, () => c.patchSpec(name, { subnetIDs: [first, second] }));
    await crashAndRestart(c);

    const obj = await c.waitReady(name, 4, AFTER_CRASH_MS);
    const enis = await expectOneEniPerSubnet(c, obj, [first!, second!]);
    // The first subnet's ENIs are the ones from before the continue-as-new, attached as they were.
    for (const n of c.nodes) {
      const was = before.get(`${n.name}/${first}`)!;
      expect(enis.get(`${n.name}/${first}`)).toMatchObject({ NetworkInterfaceId: was.NetworkInterfaceId, Attachment: { AttachmentId: was.Attachment!.AttachmentId } });
    }
    // The retried create carried the token of the chain's first run and got the ENI the lost answer named.
    const heldNode = tagsOf((await eniById(c, heldEniId))!).Node!;
    expect(enis.get(`${heldNode}/${second}`)!.NetworkInterfaceId).toBe(heldEniId);
    const sameToken = (await callsSince(mark)).filter((r) => r.action === 'CreateNetworkInterface' && r.params.ClientToken === held.params.ClientToken);
    expect(sameToken.length).toBeGreaterThanOrEqual(2);
    for (const id of ids) expect((await runsOf(id)).filter((s) => s === 'RUNNING')).toHaveLength(1);
    await deleteAndExpectNoLeak(c, name);
  }, 400000);
});

describe('kill -9 of the controller before CreateNetworkInterface reaches EC2', () => {
  let c: TestCluster;
  let client: Client;
  let closeTemporal: () => Promise<void>;

  beforeAll(async () => {
    await proxy.reset();
    // One create token, refilled after 250 s (under the budget's 8-minute wait limit): the second pair's create
    // waits in the controller's EC2 budget (in-process, heartbeating), not yet sent.
    c = await newCluster(2, { EC2_BUDGET_OVERRIDES: JSON.stringify({ CreateNetworkInterface: { capacity: 1, ratePerSecond: 0.004 } }) });
    const t = await temporalClient();
    client = t.client;
    closeTemporal = () => t.connection.close();
  }, 120000);
  afterAll(async () => {
    await closeTemporal?.();
    await cleanUp(c);
  }, 300000);

  it('the create waiting to be sent is sent once after the restart: one ENI per node, Ready', async () => {
    const name = uniq('crash-unsent');
    const [subnet] = subnets();
    const mark = (await proxy.calls()).total;
    await c.apply(nodeENI(c, name, [subnet!]));
    // One pair's create went out; the other's is in flight in its activity, waiting for a token. The pair whose ENI
    // was made may still show its createEni as started (its completion not yet recorded): the waiting one is the
    // node without an ENI.
    const waiting = await eventually('one ENI made, the other create waiting in the budget', async () => {
      const made = await enisOf(c, name);
      if (made.length !== 1) return false;
      const madeFor = tagsOf(made[0]!).Node;
      for (const n of c.nodes.filter((x) => x.name !== madeFor)) {
        const d = await client.workflow.getHandle(lifecycleWorkflowId(name, n.name)).describe();
        const p = (d.raw.pendingActivities ?? []).find((a) => a.activityType?.name === 'createEni' && Number(a.state) === 2); // STARTED
        if (p) return n;
      }
      return false;
    }, 60000);
    const sentBefore = (await callsSince(mark)).filter((r) => r.action === 'CreateNetworkInterface');
    expect(sentBefore).toHaveLength(1);
    expect((await enisOf(c, name)).map((e) => tagsOf(e).Node)).not.toContain(waiting.name);
    await crashAndRestart(c);

    const obj = await c.waitReady(name, 2, AFTER_CRASH_MS);
    await expectOneEniPerSubnet(c, obj, [subnet!]);
    // The waiting create reached EC2 once, after the restart; nothing was created twice.
    const creates = (await callsSince(mark)).filter((r) => r.action === 'CreateNetworkInterface' && r.forwarded);
    expect(new Set(creates.map((r) => r.params.ClientToken)).size).toBe(2);
    expect(creates).toHaveLength(2);
    await deleteAndExpectNoLeak(c, name);
  }, 400000);
});
