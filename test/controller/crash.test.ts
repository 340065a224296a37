// Crash safety, end to end: the controller process is killed with SIGKILL between "EC2 carried the call
// out" and "the worker learnt the answer" (the EC2 fault proxy withholds the answer, then drops it), then
// started again. Through every such crash there is exactly one ENI per (NodeENI, node, subnet), it ends
// attached where the spec says, and a release finishes without leaking. A graceful restart of the watcher
// starts no new workflow and creates nothing.
import type { NetworkInterface } from '@aws-sdk/client-ec2';
import type { Client } from '@temporalio/client';
import { TestCluster } from '../support/cluster.js';
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
  secondaryEnis,
  sleep,
  tagsOf,
  waitHeld,
  xmlValue,
} from '../support/crash.js';
import { clientToken } from '../../activities/aws/eni-writes.js';
import { NODEENI_FINALIZER, SIGNAL_SPEC, lifecycleWorkflowId } from '../../common/names.js';

describe('kill -9 of the controller while converging', () => {
  let c: TestCluster;
  let current: string | undefined;
  const subnets = () => [stack().seed.subnets[0]!.id, stack().seed.subnets[1]!.id];

  beforeAll(async () => {
    await proxy.reset();
    c = await newCluster(2);
  }, 120000);
  afterEach(() => afterTest(c, current), AFTER_CRASH_MS + 30000);
  afterAll(() => cleanUp(c), 300000);

  it('right after CreateNetworkInterface is carried out: the retried create returns the same ENI, one per node and subnet, attached', async () => {
    const name = (current = uniq('crash-create'));
    const mark = (await proxy.calls()).total;
    // The create reached EC2: the ENI exists there, but the worker never got its answer.
    const { call: held, eniId: heldEniId } = await holdACreate(c, name, () => c.apply(nodeENI(c, name, subnets())));
    const heldEni = (await eniById(c, heldEniId))!;
    expect(heldEni.Status).toBe('available');
    expect(heldEni.SubnetId).toBe(held.params.SubnetId);
    await crashAndRestart(c);

    const obj = await c.waitReady(name, 4, AFTER_CRASH_MS);
    const enis = await expectOneEniPerSubnet(c, obj, subnets());
    // The ENI the lost answer named is the one the NodeENI reports: the retried create got it back, nothing doubled.
    const heldNode = tagsOf(heldEni).Node!;
    expect(enis.get(`${heldNode}/${heldEni.SubnetId}`)!.NetworkInterfaceId).toBe(heldEniId);
    expect(obj.status!.attachments!.find((a) => a.nodeID === heldNode && a.subnetID === heldEni.SubnetId)!.eniID).toBe(heldEniId);

    // The retried create carried the same ClientToken and EC2 answered with the first call's ENI.
    const creates = (await callsSince(mark)).filter((r) => r.action === 'CreateNetworkInterface');
    const sameToken = creates.filter((r) => r.params.ClientToken === held!.params.ClientToken);
    expect(sameToken.map((r) => [r.status, !!r.replayed])).toEqual([
      [200, false],
      [200, true],
    ]);
    await deleteAndExpectNoLeak(c, name);
  }, 300000);

  it('right after AttachNetworkInterface is carried out: attached once, at the intended device index, Ready', async () => {
    const name = (current = uniq('crash-attach'));
    const mark = (await proxy.calls()).total;
    await hold.set('AttachNetworkInterface', 1);
    await c.apply(nodeENI(c, name, subnets()));

    // The attach reached EC2: the ENI is attached there, but the worker never got the attachment ID.
    const [held] = await waitHeld('AttachNetworkInterface', async (h) => {
      const tags = tagsOf((await eniById(c, h.params.NetworkInterfaceId ?? '')) ?? {});
      return tags.NodeENI === name || `tagged ${JSON.stringify(tags)}`;
    });
    const heldEniId = held!.params.NetworkInterfaceId!;
    const heldAttachmentId = xmlValue(held!.body, 'attachmentId')!;
    expect(heldAttachmentId).toMatch(/^eni-attach-/);
    const heldEni = (await eniById(c, heldEniId))!;
    const heldNode = c.nodes.find((n) => n.instanceId === held!.params.InstanceId)!;
    expect(heldNode).toBeDefined();
    expect(heldEni.Attachment).toMatchObject({ AttachmentId: heldAttachmentId, InstanceId: heldNode.instanceId });
    // The intended index: the spec's deviceIndex plus the subnet's position in the spec.
    const position = subnets().indexOf(heldEni.SubnetId!);
    expect(position).toBeGreaterThanOrEqual(0);
    expect(Number(held!.params.DeviceIndex)).toBe(DEVICE_INDEX + position);
    await crashAndRestart(c);

    const obj = await c.waitReady(name, 4, AFTER_CRASH_MS);
    const enis = await expectOneEniPerSubnet(c, obj, subnets());
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

    await deleteAndExpectNoLeak(c, name);
  }, 300000);

  it('while waiting for an attachment still `attaching`: the wait resumes, nothing is attached twice', async () => {
    const name = (current = uniq('crash-wait'));
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
    await crashAndRestart(c);
    await proxy.semantics({ attachingMs: [1000, 3000] });

    const obj = await c.waitReady(name, 4, AFTER_CRASH_MS);
    const enis = await expectOneEniPerSubnet(c, obj, subnets());
    const attaches = (await callsSince(mark)).filter((r) => r.action === 'AttachNetworkInterface' && r.forwarded);
    for (const e of enis.values()) expect(attaches.filter((r) => r.params.NetworkInterfaceId === e.NetworkInterfaceId)).toHaveLength(1);
    await deleteAndExpectNoLeak(c, name);
  }, 300000);

  it('between the attach and the DeleteOnTermination write: the write is made again, nothing is attached twice', async () => {
    const name = (current = uniq('crash-dot'));
    const mark = (await proxy.calls()).total;
    await hold.set('ModifyNetworkInterfaceAttribute', 1);
    await c.apply(nodeENI(c, name, subnets()));
    const [held] = await waitHeld('ModifyNetworkInterfaceAttribute', async (h) => {
      const tags = tagsOf((await eniById(c, h.params.NetworkInterfaceId ?? '')) ?? {});
      return tags.NodeENI === name || `tagged ${JSON.stringify(tags)}`;
    });
    const heldEniId = held!.params.NetworkInterfaceId!;
    await crashAndRestart(c);

    const obj = await c.waitReady(name, 4, AFTER_CRASH_MS);
    const enis = await expectOneEniPerSubnet(c, obj, subnets());
    expect(obj.status!.attachments!.every((a) => a.deleteOnTermination === true)).toBe(true);
    const since = await callsSince(mark);
    // The write whose answer was lost went out again after the restart.
    const writes = since.filter((r) => r.action === 'ModifyNetworkInterfaceAttribute' && r.params.NetworkInterfaceId === heldEniId && r.forwarded);
    expect(writes.length).toBeGreaterThanOrEqual(2);
    const attaches = since.filter((r) => r.action === 'AttachNetworkInterface' && r.forwarded);
    for (const e of enis.values()) expect(attaches.filter((r) => r.params.NetworkInterfaceId === e.NetworkInterfaceId)).toHaveLength(1);
    await deleteAndExpectNoLeak(c, name);
  }, 300000);
});

describe('restart of the watcher with everything Ready', () => {
  let c: TestCluster;
  let client: Client;
  let closeTemporal: () => Promise<void>;

  beforeAll(async () => {
    await proxy.reset();
    c = await newCluster(2);
    const t = await temporalClient();
    client = t.client;
    closeTemporal = () => t.connection.close();
  }, 120000);
  afterAll(async () => {
    await closeTemporal?.();
    await cleanUp(c);
  }, 300000);

  const runsOf = async (name: string) => {
    const out: { workflowId: string; runId: string; status: string }[] = [];
    for await (const wf of client.workflow.list({ query: `NodeENI="${name}"` })) out.push({ workflowId: wf.workflowId, runId: wf.runId, status: wf.status.name });
    return out.sort((a, b) => a.workflowId.localeCompare(b.workflowId));
  };

  /** The pair's history: spec signals received, activities scheduled (in order), and whether it is at rest. */
  const historyOf = async (workflowId: string) => {
    const h = await client.workflow.getHandle(workflowId).fetchHistory();
    const events = h.events ?? [];
    const specSignals = events.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === SIGNAL_SPEC).length;
    const activities = events.flatMap((e) => {
      const t = e.activityTaskScheduledEventAttributes?.activityType?.name;
      return t ? [t] : [];
    });
    const settled = !!events[events.length - 1]?.workflowTaskCompletedEventAttributes;
    // The ClientToken keys its creates used (`.../<seq>`), from the activities' inputs.
    const tokenKeys = events.flatMap((e) => {
      const a = e.activityTaskScheduledEventAttributes;
      if (a?.activityType?.name !== 'createEni') return [];
      const input = JSON.parse(Buffer.from(a.input!.payloads![0]!.data!).toString()) as { tokenKey: string }; // one payload per argument
      return [input.tokenKey];
    });
    return { specSignals, activities, settled, length: events.length, tokenKeys };
  };

  /** The ClientTokens of the pairs' creates so far and of the next ones they would make (seq + 1, + 2). */
  const pairTokens = async (hist: { tokenKeys: string[] }[]): Promise<Set<string>> => {
    const keys = hist.flatMap((h) => h.tokenKeys);
    expect(keys.length).toBeGreaterThan(0);
    const out = new Set<string>();
    for (const k of keys) {
      const m = /^(.*)\/(\d+)$/.exec(k);
      expect(m).not.toBeNull();
      for (let d = 0; d <= 2; d++) out.add(await clientToken(`${m![1]}/${Number(m![2]) + d}`));
    }
    return out;
  };

  it('re-sends the spec once per pair: same workflow runs, no ENI created, ENIs unchanged', async () => {
    const name = uniq('crash-watcher');
    const subnets = [stack().seed.subnets[0]!.id, stack().seed.subnets[1]!.id];
    const markApply = (await proxy.calls()).total;
    await c.apply(nodeENI(c, name, subnets));
    const before = await c.waitReady(name, 4);
    const createdWith = (await callsSince(markApply)).filter((r) => r.action === 'CreateNetworkInterface' && r.status === 200 && subnets.includes(r.params.SubnetId ?? ''));
    const enisBefore = await expectOneEniPerSubnet(c, before, subnets);
    const ids = c.nodes.map((n) => lifecycleWorkflowId(name, n.name)).sort();
    const runsBefore = await eventually('both pairs listed by NodeENI', async () => {
      const r = await runsOf(name);
      return r.length === 2 ? r : false;
    });
    expect(runsBefore.map((r) => [r.workflowId, r.status])).toEqual(ids.map((id) => [id, 'RUNNING']));
    // At rest before the restart.
    const histBefore = await eventually('pairs at rest', async () => {
      const h = await Promise.all(ids.map((id) => historyOf(id)));
      return h.every((x) => x.settled) ? h : false;
    });

    const mark = (await proxy.calls()).total;
    const pid = c.controller.pid;
    await c.controller.stop(); // SIGTERM: graceful
    expect(() => process.kill(pid!, 0)).toThrow();
    c.controller.start();

    // The new watcher re-derived the pairs and signalled each once; each run took the signal and settled.
    const histAfter = await eventually(
      'one more spec signal per pair, handled',
      async () => {
        const h = await Promise.all(ids.map((id) => historyOf(id)));
        return h.every((x, i) => x.specSignals > histBefore[i]!.specSignals && x.settled) ? h : false;
      },
      60000,
      500,
    );
    await sleep(5000); // would a second signal, an activity or a new run follow? Look again after a while.
    const histLater = await Promise.all(ids.map((id) => historyOf(id)));
    for (const [i, h] of histLater.entries()) {
      expect(h.specSignals).toBe(histBefore[i]!.specSignals + 1);
      expect(h.length).toBe(histAfter[i]!.length);
      // The unchanged spec costs nothing: no activity at all since the restart (no create, no EC2 or
      // Kubernetes call). This is the pair's own record, which runs sharing the stack cannot blur.
      expect(h.activities.slice(histBefore[i]!.activities.length)).toEqual([]);
    }

    // Same runs: no new workflow, no duplicate (one run per pair, still running).
    const runsAfter = await runsOf(name);
    expect(runsAfter).toEqual(runsBefore);

    // EC2: nothing created, attached, detached or deleted for this NodeENI since the restart. A create names
    // no pair, so creates are told apart by the pairs' ClientTokens (those used, and the next ones).
    const calls = await callsSince(mark);
    const tokens = await pairTokens(histLater);
    expect(tokens.size).toBe(3 * 4);
    // The derivation is right: the four creates that made the ENIs carried four of these tokens.
    expect(new Set(createdWith.map((r) => r.params.ClientToken).filter((t) => tokens.has(t ?? ''))).size).toBe(4);
    expect(calls.filter((r) => r.action === 'CreateNetworkInterface' && tokens.has(r.params.ClientToken ?? ''))).toEqual([]);
    const eniIds = new Set([...enisBefore.values()].map((e) => e.NetworkInterfaceId!));
    expect(calls.filter((r) => ['AttachNetworkInterface', 'DetachNetworkInterface', 'DeleteNetworkInterface'].includes(r.action) && eniIds.has(r.params.NetworkInterfaceId ?? ''))).toEqual([]);
    expect(calls.filter((r) => r.action === 'DetachNetworkInterface' && [...enisBefore.values()].some((e) => e.Attachment?.AttachmentId === r.params.AttachmentId))).toEqual([]);

    // The ENIs and the status are as they were.
    const after = await c.waitReady(name, 4);
    const enisAfter = await expectOneEniPerSubnet(c, after, subnets);
    const view = (m: Map<string, NetworkInterface>) => [...m].map(([k, e]) => [k, e.NetworkInterfaceId, e.Attachment?.AttachmentId, e.Attachment?.DeviceIndex]);
    expect(view(enisAfter)).toEqual(view(enisBefore));

    await deleteAndExpectNoLeak(c, name);
  }, 300000);
});

describe('kill -9 of the controller while releasing', () => {
  let c: TestCluster;
  let current: string | undefined;
  const subnets = () => [stack().seed.subnets[0]!.id, stack().seed.subnets[1]!.id];

  beforeAll(async () => {
    await proxy.reset();
    c = await newCluster(2);
  }, 120000);
  afterEach(() => afterTest(c, current), AFTER_CRASH_MS + 30000);
  afterAll(() => cleanUp(c), 300000);

  for (const action of ['DetachNetworkInterface', 'DeleteNetworkInterface'] as const) {
    it(`right after ${action} is carried out: the release completes, the NodeENI goes, no ENI is left`, async () => {
      const name = (current = uniq(`crash-${action === 'DetachNetworkInterface' ? 'detach' : 'delete'}`));
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
      await crashAndRestart(c);
      // The release had not finished at the crash: the NodeENI waits on its finalizer.
      const pending = await c.get(name);
      expect(pending?.metadata.deletionTimestamp).toBeDefined();
      expect(pending?.metadata.finalizers).toContain(NODEENI_FINALIZER);

      await c.waitGone(name, AFTER_CRASH_MS);
      expect(await enisOf(c, name)).toEqual([]);
      for (const id of eniIds) expect(await eniById(c, id)).toBeUndefined();
      for (const n of c.nodes) expect(await secondaryEnis(c, n.instanceId)).toEqual([]);
    }, 300000);
  }
});
