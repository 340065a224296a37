// What the crash tests share: NodeENIs scoped to a test cluster, straight looks at EC2 (the emulator, not the
// controller's calls), the EC2 proxy's held answers, kill -9 and restart of the controller or of a node agent, the
// clusters the crash points need, and the check a user makes after the dust settles (exactly one ENI per NodeENI,
// node and subnet, attached where the spec says).
import { CreateTagsCommand, DescribeNetworkInterfacesCommand, type NetworkInterface } from '@aws-sdk/client-ec2';
import { TestCluster } from './cluster.js';
import { eventually, stack } from './env.js';
import type { NodeProcess } from './node-process.js';
import { hold, proxy, type HeldCall, type ProxyCalls } from './proxy.js';
import { clusterTagKey } from '../../common/device-slots.js';
import type { NodeENI } from '../../common/nodeeni.js';
import { isUp, type NsLink } from '../../dev/stack/sim/netns.js';

export const DEVICE_INDEX = 2;
// The EC2 activities' startToCloseTimeout is 30 s: a call lost with the worker is retried after that.
export const AFTER_CRASH_MS = 150_000;
// The retried configure starts once Temporal has noticed the dead agent worker: the agent's heartbeat timeout (30 s).
const AGENT_AFTER_CRASH_MS = 120_000;

export type CallRecord = ProxyCalls['recent'][number] & { replayed?: boolean };

export const tagsOf = (n: NetworkInterface) => Object.fromEntries((n.TagSet ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

export async function newCluster(nodes: number, controllerEnv: Record<string, string> = {}): Promise<TestCluster> {
  const c = new TestCluster(controllerEnv);
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
export async function waitHeld(action: string, belongs: (h: HeldCall) => Promise<true | string>, timeoutMs = 60000): Promise<HeldCall[]> {
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
  }, timeoutMs, 100);
  return wait.catch((e: Error) => {
    throw new Error(`${e.message}${foreign.length ? `; let go as not this test's: ${foreign.join('; ')}` : ''}`);
  });
}

export const xmlValue = (xml: string, tag: string) => new RegExp(`<${tag}>([^<]+)</${tag}>`).exec(xml)?.[1];

/**
 * Holds the answer of the next CreateNetworkInterface, runs `start` (an apply, a spec change) and waits until EC2
 * has made one of this NodeENI's ENIs and the proxy withholds its answer: the converge is under way, and the worker
 * has not heard of the ENI. Returns the held call and the ENI it made.
 */
export async function holdACreate(c: TestCluster, name: string, start: () => Promise<unknown>): Promise<{ call: HeldCall; eniId: string }> {
  await hold.set('CreateNetworkInterface', 1);
  await start();
  const [call] = await waitHeld('CreateNetworkInterface', async (h) => {
    const id = xmlValue(h.body, 'networkInterfaceId') ?? '';
    const tags = tagsOf((await eniById(c, id)) ?? {});
    return tags.NodeENI === name || `${id} tagged ${JSON.stringify(tags)}`;
  });
  return { call: call!, eniId: xmlValue(call!.body, 'networkInterfaceId')! };
}

/**
 * Holds the answer of the next `action` on an ENI (a call naming NetworkInterfaceId), runs `start` and waits until
 * EC2 has carried out such a call on one of this NodeENI's ENIs and the proxy withholds its answer.
 */
export async function holdAnEniCall(c: TestCluster, name: string, action: string, start: () => Promise<unknown>): Promise<HeldCall> {
  await hold.set(action, 1);
  await start();
  const [held] = await waitHeld(action, async (h) => {
    const tags = tagsOf((await eniById(c, h.params.NetworkInterfaceId ?? '')) ?? {});
    return tags.NodeENI === name || `${h.params.NetworkInterfaceId} tagged ${JSON.stringify(tags)}`;
  });
  return held!;
}

/** The proxy's call log since a mark (its `total` then); fails rather than check a log it has cut short. */
export async function callsSince(mark: number): Promise<CallRecord[]> {
  const c = await proxy.calls();
  const n = c.total - mark;
  if (n < 0) throw new Error(`the proxy's call log was reset during the test (total ${c.total} < mark ${mark})`);
  if (n > c.recent.length) throw new Error(`the proxy kept only the last ${c.recent.length} of the ${n} calls since the mark`);
  return n === 0 ? [] : (c.recent.slice(-n) as CallRecord[]);
}

/**
 * What a user checks after the dust settles: in EC2 exactly one ENI per (NodeENI, node, subnet), attached
 * to the node's instance at the spec's deviceIndex (DEVICE_INDEX if it names none) + the subnet's position, nothing
 * else attached to the instances; the NodeENI's status names exactly those ENIs, all Ready.
 */
export async function expectOneEniPerSubnet(c: TestCluster, obj: NodeENI, subnets: string[]): Promise<Map<string, NetworkInterface>> {
  const name = obj.metadata.name;
  const base = obj.spec.deviceIndex ?? DEVICE_INDEX;
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
      expect(e.Attachment).toMatchObject({ InstanceId: n.instanceId, DeviceIndex: base + pos, Status: 'attached' });
      const a = obj.status?.attachments?.filter((x) => x.nodeID === n.name && x.subnetID === subnet) ?? [];
      expect(a).toHaveLength(1);
      expect(a[0]).toMatchObject({ eniID: e.NetworkInterfaceId, instanceID: n.instanceId, deviceIndex: base + pos, attachmentID: e.Attachment!.AttachmentId, phase: 'Ready', status: 'attached' });
      byKey.set(`${n.name}/${subnet}`, e);
    }
    // No stray ENI (untagged, or a duplicate) attached to the instance either.
    const attached = await secondaryEnis(c, n.instanceId);
    expect(attached.map((e) => e.NetworkInterfaceId).sort()).toEqual(subnets.map((s) => byKey.get(`${n.name}/${s}`)!.NetworkInterfaceId).sort());
  }
  expect(obj.status?.attachments).toHaveLength(c.nodes.length * subnets.length);
  return byKey;
}

/** Deletes the NodeENI and checks that nothing is left of it in EC2. */
export async function deleteAndExpectNoLeak(c: TestCluster, name: string, timeoutMs = AFTER_CRASH_MS): Promise<void> {
  await c.delete(name);
  await c.waitGone(name, timeoutMs);
  expect(await enisOf(c, name)).toEqual([]);
}

/** Kills the controller with SIGKILL, lets the proxy drop the withheld answers, starts it again. */
export async function crashAndRestart(c: TestCluster): Promise<void> {
  const pid = c.controller.pid;
  await c.controller.kill9();
  expect(pid).toBeDefined();
  expect(() => process.kill(pid!, 0)).toThrow(); // really gone
  await hold.release(); // the answers go nowhere: their caller is dead
  expect(await hold.held()).toEqual([]);
  c.controller.start();
}

/** After each test: no hold, a running controller, and the test's NodeENI gone (a failure must not cascade). */
export async function afterTest(c: TestCluster, name: string | undefined): Promise<void> {
  await hold.release();
  if (c.controller.pid === undefined) c.controller.start();
  if (!name) return;
  await c.delete(name);
  await c.waitGone(name, AFTER_CRASH_MS).catch(() => undefined);
}

export async function cleanUp(c: TestCluster): Promise<void> {
  await hold.release();
  // A test that failed between the kill and the restart must not leave the ENIs without a controller.
  if (c.controller.pid === undefined) c.controller.start();
  await c.teardown();
  await proxy.reset();
}

/** After each crash point: every node's instance tagged for the cluster again, no node agent held or dead, then afterTest. */
export async function afterCrashPoint(c: TestCluster, name: string | undefined): Promise<void> {
  // Whatever a failed test left: every node's instance carries the cluster tag again.
  await c.ec2.send(new CreateTagsCommand({ Resources: c.nodes.map((n) => n.instanceId), Tags: [{ Key: clusterTagKey(c.clusterName), Value: 'owned' }] }));
  // An agent left held (or killed and not started again) is started afresh, so the releases can run.
  for (const n of c.nodes) {
    if (n.proc && (n.proc.holding || n.proc.pid === undefined)) {
      await n.proc.kill9();
      await n.proc.start();
    }
  }
  await afterTest(c, name);
}

/**
 * The clusters the crash points run on, each made with the EC2 proxy reset first. `crash-test` labels the nodes
 * nodeENI() selects; the node run as a process carries the `ng` label the seed manifests select.
 */
const twoNodes = (controllerEnv: Record<string, string> = {}) => async () => {
  await proxy.reset();
  return newCluster(2, controllerEnv);
};

export const CLUSTER_KINDS = {
  'two plain nodes': twoNodes(),
  // A pair at rest continues as new once its history passes 20 events: after every pass.
  'two nodes, LIFECYCLE_HISTORY_LIMIT=20': twoNodes({ LIFECYCLE_HISTORY_LIMIT: '20' }),
  // One create token, refilled after 250 s (under the budget's 8-minute wait limit): the second pair's create
  // waits in the controller's EC2 budget (in-process, heartbeating), not yet sent.
  'two nodes, a one-create EC2 budget': twoNodes({ EC2_BUDGET_OVERRIDES: JSON.stringify({ CreateNetworkInterface: { capacity: 1, ratePerSecond: 0.004 } }) }),
  // The agent runs as a process of its own (dev/stack/sim/node-process.ts), over a node dir and network namespace
  // that outlive it, as on a real node.
  'one node run as a process': async () => {
    const c = new TestCluster();
    await proxy.reset();
    await c.addNodes(1, { ng: c.nodeGroup }, { process: true });
    c.controller.start();
    return c;
  },
} satisfies Record<string, () => Promise<TestCluster>>;
export type ClusterKind = keyof typeof CLUSTER_KINDS;

/** The clusters made so far, one per kind: made when first asked for, torn down by kind. */
export class CrashClusters {
  private readonly made = new Map<ClusterKind, Promise<TestCluster>>();

  get(kind: ClusterKind): Promise<TestCluster> {
    let c = this.made.get(kind);
    if (!c) this.made.set(kind, (c = CLUSTER_KINDS[kind]()));
    return c;
  }

  async tearDown(kind: ClusterKind): Promise<void> {
    const made = this.made.get(kind);
    this.made.delete(kind);
    const c = await made?.catch(() => undefined); // a cluster that failed to start failed its tests already
    if (c) await cleanUp(c);
  }
}

/** The process of the cluster's node run as a process. */
export function agentOf(c: TestCluster): NodeProcess {
  const p = c.node(0).proc;
  if (!p) throw new Error(`${c.node(0).name} does not run as a process`);
  return p;
}

/** What a crash point kills: how, and how long the work it held takes to be picked up again after the restart. */
export const KILLED = {
  controller: { afterCrashMs: AFTER_CRASH_MS, crashAndRestart },
  'node agent': {
    afterCrashMs: AGENT_AFTER_CRASH_MS,
    /** kill -9 of the node's agent process; started again over the same node (its sysfs, links, state dir). */
    crashAndRestart: async (c: TestCluster) => {
      const p = agentOf(c);
      await p.kill9();
      await p.start();
    },
  },
} satisfies Record<string, { afterCrashMs: number; crashAndRestart: (c: TestCluster) => Promise<void> }>;
export type Killed = keyof typeof KILLED;

export const linkView = (l: NsLink) => ({ ifname: l.ifname, mtu: l.mtu, up: isUp(l) });
export const linksWithMac = async (p: NodeProcess, mac: string) => (await p.links()).filter((l) => l.address === mac);

/** The NodeENI's one ENI, once it is attached (the node agent is then about to configure it). */
export const attachedEni = (c: TestCluster, name: string) =>
  eventually(`the ENI of ${name} attached`, async () => {
    const enis = await enisOf(c, name);
    return enis.length === 1 && enis[0]!.Attachment?.Status === 'attached' ? enis[0]! : false;
  });
