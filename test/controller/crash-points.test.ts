// Crash safety, end to end, one crash point a row: the controller or a node agent is killed with SIGKILL at the
// point (the EC2 proxy carried a call out and withholds its answer, which then goes nowhere; a test hook holds the
// agent's `ip` command or sysfs write; the EC2 budget holds a create back), then started again. After each crash:
// exactly one ENI per (NodeENI, node, subnet), attached once where the spec says, the attachments Ready, plus the
// row's own checks (the same ClientToken on a retried create, the link, MTU and DPDK state the agent left), and a
// release that leaves nothing in EC2 (for the agent rows: the device as it was before the NodeENI). The release
// rows kill the controller mid-release: the release completes and no ENI is left.
import fs from 'node:fs';
import path from 'node:path';
import { AttachNetworkInterfaceCommand, CreateNetworkInterfaceCommand, CreateTagsCommand, DeleteTagsCommand, type NetworkInterface } from '@aws-sdk/client-ec2';
import type { Client } from '@temporalio/client';
import type { TestCluster } from '../support/cluster.js';
import { eventually, stack, temporalClient, uniq } from '../support/env.js';
import { hold, proxy } from '../support/proxy.js';
import {
  AFTER_CRASH_MS,
  CLUSTER_KINDS,
  CrashClusters,
  DEVICE_INDEX,
  KILLED,
  afterCrashPoint,
  agentOf,
  attachedEni,
  callsSince,
  deleteAndExpectNoLeak,
  eniById,
  enisOf,
  expectOneEniPerSubnet,
  holdACreate,
  holdAnEniCall,
  linkView,
  linksWithMac,
  nodeENI,
  secondaryEnis,
  tagsOf,
  waitHeld,
  xmlValue,
  type ClusterKind,
  type Killed,
} from '../support/crash.js';
import { clusterTagKey } from '../../common/device-slots.js';
import { NODEENI_FINALIZER, TAG_CLUSTER, lifecycleWorkflowId } from '../../common/names.js';
import type { NodeENI } from '../../common/nodeeni.js';
import { pciForDeviceIndex } from '../../dev/stack/sim/simulated-node.js';

/** What a row's steps get: its cluster, its NodeENI's name (fresh per test) and a Temporal client. */
interface Point {
  c: TestCluster;
  name: string;
  client: () => Promise<Client>;
}

/** What a row's arrange returns: the subnets its spec names at the settle (one ENI per node and each), and its own context. */
interface Arranged {
  subnets: string[];
}

/** A converge row's settle: the NodeENI with all its attachments Ready, and its ENIs by `<node>/<subnet>`. */
interface Settled {
  obj: NodeENI;
  enis: Map<string, NetworkInterface>;
}

type CrashPoint<C extends Arranged = Arranged> = {
  /** The test's title: what is killed, and where. */
  name: string;
  kills: Killed;
  cluster: ClusterKind;
  /** Prefix of the NodeENI's name. */
  prefix: string;
  timeoutMs: number;
  /** Reaches the crash point: the NodeENI applied, patched or deleted, the work held there, the hold seen. */
  arrange(p: Point): Promise<C>;
  /** Between the restart and the settle (optional). */
  afterRestart?(p: Point, ctx: C): Promise<void>;
} & (
  | {
      /** The crash was mid-converge: the NodeENI settles Ready, one ENI per node and subnet; then it is released. */
      settle: 'converge';
      check?(p: Point, ctx: C, s: Settled): Promise<void>;
      /** After the release (which left no ENI of the NodeENI in EC2). */
      afterRelease?(p: Point, ctx: C): Promise<void>;
    }
  | {
      /** The crash was mid-release: the NodeENI was waiting on its finalizer; it goes, and no ENI of it is left. */
      settle: 'release';
      check?(p: Point, ctx: C): Promise<void>;
    }
);

const row = <C extends Arranged>(p: CrashPoint<C>) => p as unknown as CrashPoint;
const subnets = () => [stack().seed.subnets[0]!.id, stack().seed.subnets[1]!.id];

/** The agent rows' view of the status: the one attachment, on the node, with the ENI's MAC, at the spec's index, Ready. */
function expectAgentAttachment(p: Point, obj: NodeENI, e: NetworkInterface): void {
  const node = p.c.node(0);
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
}

/** After an agent row's release: nothing attached to the instance, and the device unplugged, link and all. */
async function expectDeviceGone(p: Point, mac: string): Promise<void> {
  expect(await secondaryEnis(p.c, p.c.node(0).instanceId)).toEqual([]);
  await eventually(`no link with MAC ${mac} left`, async () => (await linksWithMac(agentOf(p.c), mac)).length === 0);
}

/** A release row: the controller killed right after `action` of the NodeENI's release is carried out. */
function releaseRow(action: 'DetachNetworkInterface' | 'DeleteNetworkInterface') {
  return row({
    name: `controller, right after ${action} is carried out while releasing: the release completes, the NodeENI goes, no ENI is left`,
    kills: 'controller',
    cluster: 'two plain nodes',
    prefix: `crash-${action === 'DetachNetworkInterface' ? 'detach' : 'delete'}`,
    timeoutMs: 300000,
    settle: 'release',
    async arrange({ c, name }) {
      await c.apply(nodeENI(c, name, subnets()));
      const ready = await c.waitReady(name, 4);
      const enis = await expectOneEniPerSubnet(c, ready, subnets());
      const eniIds = [...enis.values()].map((e) => e.NetworkInterfaceId!);

      await hold.set(action, 1);
      await c.delete(name);
      const [held] = await waitHeld(action, async (h) =>
        (action === 'DetachNetworkInterface'
          ? [...enis.values()].some((e) => e.Attachment?.AttachmentId === h.params.AttachmentId)
          : eniIds.includes(h.params.NetworkInterfaceId ?? '')) || `not one of ${eniIds.join(', ')}`,
      );
      const heldEniId = action === 'DetachNetworkInterface' ? [...enis.values()].find((e) => e.Attachment?.AttachmentId === held!.params.AttachmentId)!.NetworkInterfaceId! : held!.params.NetworkInterfaceId!;
      // EC2 carried it out: the ENI is detached (after EC2's detaching window) or gone.
      if (action === 'DetachNetworkInterface') {
        await eventually(`${heldEniId} detached in EC2`, async () => (await eniById(c, heldEniId))?.Status === 'available', 30000);
      } else {
        expect(await eniById(c, heldEniId)).toBeUndefined();
      }
      return { subnets: subnets(), eniIds };
    },
    async check({ c }, { eniIds }) {
      for (const id of eniIds) expect(await eniById(c, id)).toBeUndefined();
      for (const n of c.nodes) expect(await secondaryEnis(c, n.instanceId)).toEqual([]);
    },
  });
}

const CRASH_POINTS: CrashPoint[] = [
  row({
    name: 'controller, right after CreateNetworkInterface is carried out: the retried create returns the same ENI, one per node and subnet, attached',
    kills: 'controller',
    cluster: 'two plain nodes',
    prefix: 'crash-create',
    timeoutMs: 300000,
    settle: 'converge',
    async arrange({ c, name }) {
      const mark = (await proxy.calls()).total;
      // The create reached EC2: the ENI exists there, but the worker never got its answer.
      const { call: held, eniId: heldEniId } = await holdACreate(c, name, () => c.apply(nodeENI(c, name, subnets())));
      const heldEni = (await eniById(c, heldEniId))!;
      expect(heldEni.Status).toBe('available');
      expect(heldEni.SubnetId).toBe(held.params.SubnetId);
      return { subnets: subnets(), mark, held, heldEniId, heldEni };
    },
    async check(_p, { mark, held, heldEniId, heldEni }, { obj, enis }) {
      // The ENI the lost answer named is the one the NodeENI reports: the retried create got it back, nothing doubled.
      const heldNode = tagsOf(heldEni).Node!;
      expect(enis.get(`${heldNode}/${heldEni.SubnetId}`)!.NetworkInterfaceId).toBe(heldEniId);
      expect(obj.status!.attachments!.find((a) => a.nodeID === heldNode && a.subnetID === heldEni.SubnetId)!.eniID).toBe(heldEniId);
      // The retried create carried the same ClientToken and EC2 answered with the first call's ENI.
      const creates = (await callsSince(mark)).filter((r) => r.action === 'CreateNetworkInterface');
      const sameToken = creates.filter((r) => r.params.ClientToken === held.params.ClientToken);
      expect(sameToken.map((r) => [r.status, !!r.replayed])).toEqual([
        [200, false],
        [200, true],
      ]);
    },
  }),

  row({
    name: 'controller, right after AttachNetworkInterface is carried out: attached once, at the intended device index, Ready',
    kills: 'controller',
    cluster: 'two plain nodes',
    prefix: 'crash-attach',
    timeoutMs: 300000,
    settle: 'converge',
    async arrange({ c, name }) {
      const mark = (await proxy.calls()).total;
      // The attach reached EC2: the ENI is attached there, but the worker never got the attachment ID.
      const held = await holdAnEniCall(c, name, 'AttachNetworkInterface', () => c.apply(nodeENI(c, name, subnets())));
      const heldEniId = held.params.NetworkInterfaceId!;
      const heldAttachmentId = xmlValue(held.body, 'attachmentId')!;
      expect(heldAttachmentId).toMatch(/^eni-attach-/);
      const heldEni = (await eniById(c, heldEniId))!;
      const heldNode = c.nodes.find((n) => n.instanceId === held.params.InstanceId)!;
      expect(heldNode).toBeDefined();
      expect(heldEni.Attachment).toMatchObject({ AttachmentId: heldAttachmentId, InstanceId: heldNode.instanceId });
      // The intended index: the spec's deviceIndex plus the subnet's position in the spec.
      const position = subnets().indexOf(heldEni.SubnetId!);
      expect(position).toBeGreaterThanOrEqual(0);
      expect(Number(held.params.DeviceIndex)).toBe(DEVICE_INDEX + position);
      return { subnets: subnets(), mark, heldEniId, heldAttachmentId, heldEni, heldNode, position };
    },
    async check(_p, { mark, heldEniId, heldAttachmentId, heldEni, heldNode, position }, { enis }) {
      // The attachment made before the crash is the one in use: not detached and attached again.
      expect(enis.get(`${heldNode.name}/${heldEni.SubnetId}`)!.Attachment).toMatchObject({ AttachmentId: heldAttachmentId, DeviceIndex: DEVICE_INDEX + position });
      // Each ENI was attached at EC2 exactly once; the retry after the crash found the attachment in place.
      const attaches = (await callsSince(mark)).filter((r) => r.action === 'AttachNetworkInterface');
      for (const e of enis.values()) {
        const forwarded = attaches.filter((r) => r.params.NetworkInterfaceId === e.NetworkInterfaceId && r.forwarded);
        expect(forwarded.map((r) => r.status)).toEqual([200]);
      }
      // The retried attach of the held ENI was refused as already attached (not carried out a second time).
      const retried = attaches.filter((r) => r.params.NetworkInterfaceId === heldEniId);
      expect(retried.map((r) => [r.outcome, r.forwarded])).toEqual([
        ['ok', true],
        ['InvalidNetworkInterface.InUse', false],
      ]);
    },
  }),

  row({
    name: 'controller, while waiting for an attachment still `attaching`: the wait resumes, nothing is attached twice',
    kills: 'controller',
    cluster: 'two plain nodes',
    prefix: 'crash-wait',
    timeoutMs: 300000,
    settle: 'converge',
    async arrange({ c, name }) {
      const mark = (await proxy.calls()).total;
      // EC2 keeps each attachment `attaching` for 20 s: the controller is sure to be inside waitAttached.
      await proxy.semantics({ attachingMs: [20000, 20000] });
      await c.apply(nodeENI(c, name, subnets()));
      const ours = await eventually('an attach of this NodeENI carried out', async () => {
        const ids = new Set((await enisOf(c, name)).map((e) => e.NetworkInterfaceId));
        const attached = (await callsSince(mark)).filter((r) => r.action === 'AttachNetworkInterface' && r.outcome === 'ok' && ids.has(r.params.NetworkInterfaceId));
        return attached.length > 0 ? attached : false;
      });
      expect(ours.length).toBeGreaterThan(0);
      return { subnets: subnets(), mark };
    },
    async afterRestart() {
      await proxy.semantics({ attachingMs: [1000, 3000] });
    },
    async check(_p, { mark }, { enis }) {
      const attaches = (await callsSince(mark)).filter((r) => r.action === 'AttachNetworkInterface' && r.forwarded);
      for (const e of enis.values()) expect(attaches.filter((r) => r.params.NetworkInterfaceId === e.NetworkInterfaceId)).toHaveLength(1);
    },
  }),

  row({
    name: 'controller, between the attach and the DeleteOnTermination write: the write is made again, nothing is attached twice',
    kills: 'controller',
    cluster: 'two plain nodes',
    prefix: 'crash-dot',
    timeoutMs: 300000,
    settle: 'converge',
    async arrange({ c, name }) {
      const mark = (await proxy.calls()).total;
      const held = await holdAnEniCall(c, name, 'ModifyNetworkInterfaceAttribute', () => c.apply(nodeENI(c, name, subnets())));
      return { subnets: subnets(), mark, heldEniId: held.params.NetworkInterfaceId! };
    },
    async check(_p, { mark, heldEniId }, { obj, enis }) {
      expect(obj.status!.attachments!.every((a) => a.deleteOnTermination === true)).toBe(true);
      const since = await callsSince(mark);
      // The write whose answer was lost went out again after the restart.
      const writes = since.filter((r) => r.action === 'ModifyNetworkInterfaceAttribute' && r.params.NetworkInterfaceId === heldEniId && r.forwarded);
      expect(writes.length).toBeGreaterThanOrEqual(2);
      const attaches = since.filter((r) => r.action === 'AttachNetworkInterface' && r.forwarded);
      for (const e of enis.values()) expect(attaches.filter((r) => r.params.NetworkInterfaceId === e.NetworkInterfaceId)).toHaveLength(1);
    },
  }),

  releaseRow('DetachNetworkInterface'),
  releaseRow('DeleteNetworkInterface'),

  row({
    name: "controller, while tagging the Go controller's ENI it adopts: adopted once, in place, tagged; no second ENI",
    kills: 'controller',
    cluster: 'two nodes, LIFECYCLE_HISTORY_LIMIT=20',
    prefix: 'crash-adopt',
    timeoutMs: 400000,
    settle: 'converge',
    async arrange({ c, name }) {
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
      return { subnets: [subnet!], node, subnet: subnet!, goEni, goAttachment, mark };
    },
    async check({ c, name }, { node, subnet, goEni, goAttachment, mark }, { enis }) {
      // Adopted where it was: same ENI, same attachment, never detached or created again for that node.
      expect(enis.get(`${node.name}/${subnet}`)).toMatchObject({ NetworkInterfaceId: goEni.NetworkInterfaceId, Attachment: { AttachmentId: goAttachment.AttachmentId, DeviceIndex: DEVICE_INDEX } });
      const since = await callsSince(mark);
      expect(since.filter((r) => r.action === 'DetachNetworkInterface' && r.params.AttachmentId === goAttachment.AttachmentId)).toEqual([]);
      expect(since.filter((r) => r.action === 'AttachNetworkInterface' && r.params.NetworkInterfaceId === goEni.NetworkInterfaceId)).toEqual([]);
      // One create in all (one ClientToken), for the other node.
      const created = since.filter((r) => r.action === 'CreateNetworkInterface' && r.status === 200 && r.params.SubnetId === subnet);
      expect(new Set(created.map((r) => r.params.ClientToken)).size).toBe(1);
      expect((await enisOf(c, name)).map((e) => e.NetworkInterfaceId).sort()).toEqual([...enis.values()].map((e) => e.NetworkInterfaceId).sort());
    },
  }),

  row({
    name: 'controller, while compensating a create whose attach failed: the ENI is deleted once, nothing leaks, and the pair recovers',
    kills: 'controller',
    cluster: 'two nodes, LIFECYCLE_HISTORY_LIMIT=20',
    prefix: 'crash-undo',
    timeoutMs: 500000,
    settle: 'converge',
    async arrange({ c, name }) {
      const [subnet] = subnets();
      const { eniId: heldEniId } = await holdACreate(c, name, () => c.apply(nodeENI(c, name, [subnet!])));
      const heldNodeName = tagsOf((await eniById(c, heldEniId))!).Node;
      const heldNode = c.nodes.find((n) => n.name === heldNodeName)!;
      // The node's instance loses this cluster's tag while the create's answer is lost: the attach is refused
      // (InstanceNotInCluster) and the created ENI must be compensated.
      await c.ec2.send(new DeleteTagsCommand({ Resources: [heldNode.instanceId], Tags: [{ Key: clusterTagKey(c.clusterName) }] }));
      const mark = (await proxy.calls()).total;
      // Reaching the point takes a first kill -9: the create's answer goes with it.
      await c.controller.kill9();
      await hold.release();
      await hold.set('DeleteNetworkInterface', 1);
      c.controller.start();
      // The compensating delete reached EC2 (the ENI is gone) and its answer was lost with the worker.
      // (After the restart the lost create is retried once its heartbeat times out: up to a minute.)
      await waitHeld('DeleteNetworkInterface', async (h) => h.params.NetworkInterfaceId === heldEniId || `delete of ${h.params.NetworkInterfaceId}`, AFTER_CRASH_MS);
      expect(await eniById(c, heldEniId)).toBeUndefined();
      return { subnets: [subnet!], subnet: subnet!, heldEniId, heldNode, mark };
    },
    async afterRestart({ c, name }, { heldEniId, heldNode, mark }) {
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
    },
    async check(_p, { subnet, heldEniId, heldNode }, { enis }) {
      expect(enis.get(`${heldNode.name}/${subnet}`)!.NetworkInterfaceId).not.toBe(heldEniId);
    },
  }),

  row({
    name: 'controller, in a run that continued as new: the create lost with the crash is the same ENI after, earlier ENIs stay',
    kills: 'controller',
    cluster: 'two nodes, LIFECYCLE_HISTORY_LIMIT=20',
    prefix: 'crash-can',
    timeoutMs: 400000,
    settle: 'converge',
    async arrange({ c, name, client }) {
      const [first, second] = subnets();
      await c.apply(nodeENI(c, name, [first!]));
      const before = await expectOneEniPerSubnet(c, await c.waitReady(name, 2), [first!]);
      const ids = c.nodes.map((n) => lifecycleWorkflowId(name, n.name));
      const temporal = await client();
      const runsOf = async (id: string) => {
        const out: string[] = [];
        for await (const wf of temporal.workflow.list({ query: `WorkflowId="${id}"` })) out.push(wf.status.name);
        return out.sort();
      };
      // Each pair rested past its history limit and continued as new.
      await eventually('both pairs continued as new', async () => (await Promise.all(ids.map(runsOf))).every((r) => r.includes('CONTINUED_AS_NEW')));
      const mark = (await proxy.calls()).total;
      const { call: held, eniId: heldEniId } = await holdACreate(c, name, () => c.patchSpec(name, { subnetIDs: [first, second] }));
      return { subnets: [first!, second!], first: first!, second: second!, before, ids, runsOf, mark, held, heldEniId };
    },
    async check({ c }, { first, second, before, ids, runsOf, mark, held, heldEniId }, { enis }) {
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
    },
  }),

  row({
    name: 'controller, before CreateNetworkInterface reaches EC2 (waiting in the EC2 budget): sent once after the restart, one ENI per node, Ready',
    kills: 'controller',
    cluster: 'two nodes, a one-create EC2 budget',
    prefix: 'crash-unsent',
    timeoutMs: 400000,
    settle: 'converge',
    async arrange({ c, name, client }) {
      const [subnet] = subnets();
      const mark = (await proxy.calls()).total;
      await c.apply(nodeENI(c, name, [subnet!]));
      const temporal = await client();
      // One pair's create went out; the other's is in flight in its activity, waiting for a token. The pair whose ENI
      // was made may still show its createEni as started (its completion not yet recorded): the waiting one is the
      // node without an ENI.
      const waiting = await eventually('one ENI made, the other create waiting in the budget', async () => {
        const made = await enisOf(c, name);
        if (made.length !== 1) return false;
        const madeFor = tagsOf(made[0]!).Node;
        for (const n of c.nodes.filter((x) => x.name !== madeFor)) {
          const d = await temporal.workflow.getHandle(lifecycleWorkflowId(name, n.name)).describe();
          const pending = (d.raw.pendingActivities ?? []).find((a) => a.activityType?.name === 'createEni' && Number(a.state) === 2); // STARTED
          if (pending) return n;
        }
        return false;
      }, 60000);
      const sentBefore = (await callsSince(mark)).filter((r) => r.action === 'CreateNetworkInterface');
      expect(sentBefore).toHaveLength(1);
      expect((await enisOf(c, name)).map((e) => tagsOf(e).Node)).not.toContain(waiting.name);
      return { subnets: [subnet!], mark };
    },
    async check(_p, { mark }) {
      // The waiting create reached EC2 once, after the restart; nothing was created twice.
      const creates = (await callsSince(mark)).filter((r) => r.action === 'CreateNetworkInterface' && r.forwarded);
      expect(new Set(creates.map((r) => r.params.ClientToken)).size).toBe(2);
      expect(creates).toHaveLength(2);
    },
  }),

  row({
    name: 'node agent, during configure (MTU set, the link not yet up): after the restart Ready, one ENI, the link up with the MTU; the release leaves nothing',
    kills: 'node agent',
    cluster: 'one node run as a process',
    prefix: 'agent-crash-mtu',
    timeoutMs: 300000,
    settle: 'converge',
    async arrange(p) {
      const { c, name } = p;
      const proc = agentOf(c);
      const obj = p.c.seed('jumbo-frames.yaml', p.name);
      expect(obj.spec).toMatchObject({ deviceIndex: 2, mtu: 9001 });
      const ifname = `eth${obj.spec.deviceIndex}`;
      await proc.stop();
      await proc.start({ ip: `link set dev ${ifname} up` });
      await c.apply(obj);
      expect(await proc.waitLine(/^held ip /, KILLED['node agent'].afterCrashMs)).toBe(`held ip link set dev ${ifname} up`);
      const eni = await attachedEni(c, name);
      const mac = eni.MacAddress!;
      // Half done at the kill: the MTU set, the link still down, the attachment not Ready.
      expect((await linksWithMac(proc, mac)).map(linkView)).toEqual([{ ifname, mtu: 9001, up: false }]);
      expect((await c.get(name))?.status?.attachments?.map((a) => a.phase) ?? []).not.toContain('Ready');
      return { subnets: [obj.spec.subnetID!], eni, mac, ifname, deviceIndex: obj.spec.deviceIndex! };
    },
    async check(p, { eni, mac, ifname }, { obj, enis }) {
      const [e] = [...enis.values()];
      expectAgentAttachment(p, obj, e!);
      expect(e!.NetworkInterfaceId).toBe(eni.NetworkInterfaceId);
      expect(obj.status!.attachments![0]).toMatchObject({ interfaceName: ifname, mtu: 9001 });
      expect((await linksWithMac(agentOf(p.c), mac)).map(linkView)).toEqual([{ ifname, mtu: 9001, up: true }]);
    },
    async afterRelease(p, { mac, deviceIndex }) {
      await expectDeviceGone(p, mac);
      // The agent set the link down before the ENI was detached.
      expect(agentOf(p.c).lines(new RegExp(`^unplugged \\S+ ${mac} `))).toEqual([`unplugged ${pciForDeviceIndex(deviceIndex)} ${mac} driver ena link down`]);
    },
  }),

  row({
    name: 'node agent, during the DPDK bind (unbound from ena, vfio-pci bind in flight): after the restart bound once, Ready; the release gives the device back to ena',
    kills: 'node agent',
    cluster: 'one node run as a process',
    prefix: 'agent-crash-dpdk',
    timeoutMs: 300000,
    settle: 'converge',
    async arrange(p) {
      const { c, name } = p;
      const proc = agentOf(c);
      const obj = p.c.seed('case3-dpdk.yaml', p.name);
      expect(obj.spec).toMatchObject({ deviceIndex: 4, enableDPDK: true, dpdkDriver: 'vfio-pci', dpdkPCIAddress: '0000:00:08.0', dpdkResourceName: 'intel.com/intel_sriov_netdevice' });
      const pci = obj.spec.dpdkPCIAddress!;
      expect(pciForDeviceIndex(obj.spec.deviceIndex!)).toBe(pci); // the simulation puts the ENI there
      await proc.stop();
      await proc.start({ sysfsWrite: 'bus/pci/drivers/vfio-pci/bind' });
      const heldRun = proc.run;
      await c.apply(obj);
      expect(await proc.waitLine(/^held sysfs write /, KILLED['node agent'].afterCrashMs)).toBe(`held sysfs write bus/pci/drivers/vfio-pci/bind ${pci}`);
      const eni = await attachedEni(c, name);
      const mac = eni.MacAddress!;
      // Half done at the kill: the device left ena (its link with it) and has no driver yet.
      expect(proc.lines(/^sysfs write/, heldRun)).toEqual([`sysfs write bus/pci/drivers/ena/unbind ${pci}`, `sysfs write bus/pci/devices/${pci}/driver_override vfio-pci`]);
      expect(proc.driverOf(pci)).toBeUndefined();
      expect(await linksWithMac(proc, mac)).toEqual([]);
      return { subnets: [obj.spec.subnetID!], pci, mac, afterRun: 0 };
    },
    async afterRestart(p, ctx) {
      ctx.afterRun = agentOf(p.c).run; // the run the restart started
    },
    async check(p, { pci, mac, afterRun }, { obj, enis }) {
      const proc = agentOf(p.c);
      expectAgentAttachment(p, obj, [...enis.values()][0]!);
      expect(obj.status!.attachments![0]).toMatchObject({ dpdkBound: true, dpdkDriver: 'vfio-pci', dpdkPCIAddress: pci, dpdkResourceName: 'intel.com/intel_sriov_netdevice' });
      expect(proc.driverOf(pci)).toBe('vfio-pci');
      expect(await linksWithMac(proc, mac)).toEqual([]);
      // Bound exactly once: the restarted agent made the one write left, nothing unbound or bound again.
      expect(proc.lines(/^sysfs write/, afterRun)).toEqual([`sysfs write bus/pci/drivers/vfio-pci/bind ${pci}`]);
      expect(proc.pcidpConfig()).toEqual({
        resourceList: [{ resourcePrefix: 'intel.com', resourceName: 'intel_sriov_netdevice', selectors: [{ drivers: ['vfio-pci'], pciAddresses: [pci] }] }],
      });
    },
    async afterRelease(p, { pci, mac, afterRun }) {
      const proc = agentOf(p.c);
      await expectDeviceGone(p, mac);
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
    },
  }),
];

const clusters = new CrashClusters();
let temporal: ReturnType<typeof temporalClient> | undefined;
const client = async () => (await (temporal ??= temporalClient())).client;
/** The running test's cluster and NodeENI, for the safety net after it. */
let current: { c: TestCluster; name: string } | undefined;

/** The shared part of every row: arrange, kill -9 and restart, settle, the row's checks, release. */
async function runPoint(r: CrashPoint): Promise<void> {
  const c = await clusters.get(r.cluster);
  const p: Point = { c, name: uniq(r.prefix), client };
  current = { c, name: p.name };
  const killed = KILLED[r.kills];
  const ctx = await r.arrange(p);
  await killed.crashAndRestart(c);
  await r.afterRestart?.(p, ctx);
  if (r.settle === 'converge') {
    const obj = await c.waitReady(p.name, c.nodes.length * ctx.subnets.length, killed.afterCrashMs);
    const enis = await expectOneEniPerSubnet(c, obj, ctx.subnets);
    await r.check?.(p, ctx, { obj, enis });
    await deleteAndExpectNoLeak(c, p.name, killed.afterCrashMs);
    await r.afterRelease?.(p, ctx);
  } else {
    // The release had not finished at the crash: the NodeENI waits on its finalizer.
    const pending = await c.get(p.name);
    expect(pending?.metadata.deletionTimestamp).toBeDefined();
    expect(pending?.metadata.finalizers).toContain(NODEENI_FINALIZER);
    await c.waitGone(p.name, killed.afterCrashMs);
    expect(await enisOf(c, p.name)).toEqual([]);
    await r.check?.(p, ctx);
  }
}

// No hold left, the controller and agents running, the instances tagged, the test's NodeENI gone: a failure must not cascade.
afterEach(async () => {
  const t = current;
  current = undefined;
  if (t) await afterCrashPoint(t.c, t.name);
}, AFTER_CRASH_MS + 90000);
afterAll(async () => {
  const t = temporal;
  temporal = undefined;
  await (await t?.catch(() => undefined))?.connection.close();
}, 30000);

for (const kind of Object.keys(CLUSTER_KINDS) as ClusterKind[]) {
  describe(`crash points on ${kind}`, () => {
    beforeAll(() => clusters.get(kind), 120000);
    afterAll(() => clusters.tearDown(kind), 300000);
    for (const row of CRASH_POINTS) if (row.cluster === kind) it(row.name, () => runPoint(row), row.timeoutMs);
  });
}
