// A graceful restart (SIGTERM) of the controller's watcher with every NodeENI Ready costs nothing: the new watcher
// re-derives the pairs and re-sends each its spec once, the same workflow runs take it and settle, no activity
// runs, no ENI is created, attached, detached or deleted, and the ENIs and the status are as they were.
import type { NetworkInterface } from '@aws-sdk/client-ec2';
import type { Client } from '@temporalio/client';
import type { TestCluster } from '../support/cluster.js';
import { eventually, stack, temporalClient, uniq } from '../support/env.js';
import { proxy } from '../support/proxy.js';
import { callsSince, cleanUp, deleteAndExpectNoLeak, expectOneEniPerSubnet, newCluster, nodeENI, sleep } from '../support/crash.js';
import { clientToken } from '../../activities/aws/eni-writes.js';
import { SIGNAL_SPEC, lifecycleWorkflowId } from '../../common/names.js';

describe('graceful restart of the watcher with everything Ready', () => {
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
    const name = uniq('watcher-restart');
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
