// The readiness gate on the local stack: nodes join with the startup taint (as an EKS node group's or a Karpenter
// NodePool's startupTaints put it); the controller removes it only once every NodeENI matching the node is Ready on
// it, and labels such nodes. Two NodeENIs match the telco nodes; one ENI attach is held at EC2 so that one node has
// one NodeENI Ready and the other not: its taint stays. A node whose AZ has none of the subnets keeps it (Failed).
// A node no NodeENI matches loses the taint but gets no label (the documented rule). Other taints are kept.
import type { NetworkInterface } from '@aws-sdk/client-ec2';
import type { V1Taint } from '@kubernetes/client-node';
import type { NodeENI } from '../../common/nodeeni.js';
import { TestCluster, type TestNode } from '../support/cluster.js';
import { eventually, stack } from '../support/env.js';
import { hold, proxy } from '../support/proxy.js';

const AZ_A = 'us-east-1a';
const AZ_B = 'us-east-1b';
const TAINT_KEY = 'multi-eni.networking.k8s.aws/not-ready';
const LABEL_KEY = 'multi-eni.networking.k8s.aws/ready';
const STARTUP: V1Taint = { key: TAINT_KEY, effect: 'NoSchedule' };
const DEDICATED: V1Taint = { key: 'dedicated', value: 'telco', effect: 'NoSchedule' };

describe('readiness gate: the startup taint lifted once every matching NodeENI is Ready on the node', () => {
  // The gate manages only this run's nodes (the apiserver is shared by test runs).
  const c = new TestCluster({ READINESS_GATE: 'true' });
  const telco = { ng: c.nodeGroup, net: 'telco' };
  let a: NodeENI;
  let b: NodeENI;

  const subnetNamed = (name: string) => stack().seed.subnets.find((s) => s.name === name)!;
  const manifest = (name: string, subnetNames: string[]): NodeENI => ({
    apiVersion: 'networking.k8s.aws/v1alpha1',
    kind: 'NodeENI',
    metadata: { name },
    spec: { nodeSelector: telco, subnetNames, securityGroupIDs: [stack().seed.securityGroups[0]!.id], deviceIndex: 2 },
  });

  /** The node's taints as plain objects. The apiserver's NodeTaint admission adds node.kubernetes.io/not-ready at create
   * (no kubelet here clears it): kept by the gate too, shown separately. */
  const allTaints = async (n: TestNode) => ((await c.getNode(n.name)).spec?.taints ?? []).map((t) => ({ key: t.key, effect: t.effect, ...(t.value ? { value: t.value } : {}) }));
  const taintsOf = async (n: TestNode) => (await allTaints(n)).filter((t) => t.key !== 'node.kubernetes.io/not-ready');
  const labelOf = async (n: TestNode) => (await c.getNode(n.name)).metadata?.labels?.[LABEL_KEY];
  const hasStartupTaint = async (n: TestNode) => (await taintsOf(n)).some((t) => t.key === TAINT_KEY);
  // From the pair's NodeENIAttachment object, which the gate decides from (the NodeENI's list may lag it by a second).
  const phaseOn = async (name: string, n: TestNode) => (await c.attachmentsOn(name, n.name)).map((x) => x.phase);
  const waitUntainted = (n: TestNode, why: string) => eventually(`${n.name}: ${why}`, async () => !(await hasStartupTaint(n)), 120000);
  /** A node that joins now with the taint and matches nothing is untainted: proof the watcher has run since. */
  let probes = 0;
  const watcherHasRun = async () => {
    const [p] = await c.addNodes(1, { ng: c.nodeGroup, probe: `p${probes++}` }, { az: AZ_A, agent: false, taints: [STARTUP] });
    await waitUntainted(p!, 'a probe node matching no NodeENI loses the taint');
  };

  beforeAll(async () => {
    await proxy.reset();
    c.controller.start({ READINESS_GATE_NODE_SELECTOR: `ng=${c.nodeGroup}` });
    a = manifest(`gate-a-${c.runId}`, ['multus-test-subnet-1']);
    b = manifest(`gate-b-${c.runId}`, ['multus-test-subnet-2']);
    await c.apply(a);
    await c.apply(b);
  }, 120000);
  afterAll(async () => {
    await hold.release().catch(() => undefined);
    await c.teardown();
  }, 180000);

  let inA: TestNode[];
  let inB: TestNode;
  let plain: TestNode;

  it('a node no NodeENI matches loses the taint, gets no label; other taints stay', async () => {
    plain = (await c.addNodes(1, { ng: c.nodeGroup }, { az: AZ_A, agent: false, taints: [DEDICATED, STARTUP] }))[0]!;
    await waitUntainted(plain, 'no NodeENI matches');
    expect(await taintsOf(plain)).toEqual([DEDICATED]);
    expect((await allTaints(plain)).map((t) => t.key)).toEqual(['dedicated', 'node.kubernetes.io/not-ready']);
    expect(await labelOf(plain)).toBeUndefined();
  }, 180000);

  it('two matching NodeENIs: the taint stays on the node where one attach is held, goes where both are Ready', async () => {
    // The next ENI attach is carried out at EC2 but its answer withheld: one pair on one node waits.
    await hold.set('AttachNetworkInterface', 1);
    inA = await c.addNodes(2, telco, { az: AZ_A, taints: [DEDICATED, STARTUP] });
    const held = await eventually('one attach held', async () => {
      const h = await hold.held();
      return h.length === 1 ? h[0]! : false;
    }, 90000);
    const waiting = inA.find((n) => n.instanceId === held.params.InstanceId)!;
    const other = inA.find((n) => n !== waiting)!;
    expect(waiting).toBeDefined();
    const heldENI: NetworkInterface | undefined = (await c.enis([{ Name: 'network-interface-id', Values: [held.params.NetworkInterfaceId!] }]))[0];
    const heldName = heldENI?.TagSet?.find((t) => t.Key === 'NodeENI')?.Value;
    expect([a.metadata.name, b.metadata.name]).toContain(heldName);
    const readyName = heldName === a.metadata.name ? b.metadata.name : a.metadata.name;

    // The node whose two NodeENIs are Ready: untainted, labelled, its other taint kept.
    await waitUntainted(other, 'both NodeENIs Ready');
    expect(await phaseOn(a.metadata.name, other)).toEqual(['Ready']);
    expect(await phaseOn(b.metadata.name, other)).toEqual(['Ready']);
    expect(await taintsOf(other)).toEqual([DEDICATED]);
    expect(await labelOf(other)).toBe('true');

    // The node with one NodeENI Ready and the other's attach held: still tainted, no label, after the watcher ran.
    await eventually(`${readyName} Ready on ${waiting.name}`, async () => (await phaseOn(readyName, waiting)).join() === 'Ready', 90000);
    await watcherHasRun();
    expect(await phaseOn(heldName!, waiting)).not.toEqual(['Ready']);
    expect(await hasStartupTaint(waiting)).toBe(true);
    expect(await labelOf(waiting)).toBeUndefined();

    // The attach answered: both Ready, then the taint goes and the label comes.
    await hold.release();
    await waitUntainted(waiting, 'both NodeENIs Ready after the held attach was answered');
    expect(await phaseOn(heldName!, waiting)).toEqual(['Ready']);
    expect(await taintsOf(waiting)).toEqual([DEDICATED]);
    await eventually(`${waiting.name} labelled`, async () => (await labelOf(waiting)) === 'true');
  }, 240000);

  it('a node whose AZ has none of the subnets keeps the taint (the NodeENIs Failed there)', async () => {
    inB = (await c.addNodes(1, telco, { az: AZ_B, taints: [STARTUP] }))[0]!;
    for (const n of [a, b]) {
      await eventually(`${n.metadata.name} Failed on ${inB.name}`, async () => (await phaseOn(n.metadata.name, inB)).join() === 'Failed', 90000);
    }
    const [failure] = await c.attachmentsOn(a.metadata.name, inB.name);
    expect(failure).toBeDefined();
    expect(failure!.message).toContain(`no listed subnet is in ${AZ_B}`);
    expect(failure!.message).toContain(`${subnetNamed('multus-test-subnet-1').id} (${AZ_A})`);
    await watcherHasRun();
    expect(await taintsOf(inB)).toEqual([STARTUP]);
    expect(await labelOf(inB)).toBeUndefined();
  }, 180000);

  it('the label goes while a new matching NodeENI is not Ready there, and comes back once it is; the taint is not put back', async () => {
    await hold.set('AttachNetworkInterface', 1);
    const late = manifest(`gate-c-${c.runId}`, ['multus-test-subnet-1']);
    await c.apply(late);
    const held = await eventually('the new NodeENI attach held', async () => {
      const h = await hold.held();
      return h.length === 1 ? h[0]! : false;
    }, 90000);
    const waiting = inA.find((n) => n.instanceId === held.params.InstanceId)!;
    expect(waiting).toBeDefined();
    await eventually(`${waiting.name}: label removed`, async () => (await labelOf(waiting)) === undefined, 90000);
    await watcherHasRun();
    expect(await labelOf(waiting)).toBeUndefined();
    expect(await taintsOf(waiting)).toEqual([DEDICATED]);
    await hold.release();
    await eventually('labels back once the new NodeENI is Ready on both', async () => (await Promise.all(inA.map(labelOf))).every((l) => l === 'true'), 120000);
    for (const n of inA) expect(await phaseOn(late.metadata.name, n)).toEqual(['Ready']);
    for (const n of inA) expect(await taintsOf(n)).toEqual([DEDICATED]);
    // The AZ b node still waits: it gets neither.
    expect(await taintsOf(inB)).toEqual([STARTUP]);
    expect(await labelOf(inB)).toBeUndefined();
  }, 240000);
});
