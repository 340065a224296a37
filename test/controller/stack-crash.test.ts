// Crash safety of what the controller stands on, end to end: the Temporal server and the kube-apiserver are each
// killed with SIGKILL and started again on their data (dev/stack/stack.ts killComponent / restartComponent). The
// controller process rides it out (same PID): after a Temporal restart every (NodeENI, node, subnet) has exactly
// one ENI, Ready, and a release asked for while the server was down finishes without leaking; while the apiserver
// is down a release goes on in EC2, and the NodeENI goes once the apiserver is back.
import type { PairState } from '../../common/lifecycle-contract.js';
import { lifecycleWorkflowId, NODEENI_FINALIZER, QUERY_STATE } from '../../common/names.js';
import { isAlive } from '../../dev/stack/processes.js';
import { killComponent, readState, restartComponent, type Component } from '../../dev/stack/stack.js';
import type { TestCluster } from '../support/cluster.js';
import { eniById, enisOf, expectOneEniPerSubnet, newCluster, nodeENI, secondaryEnis, tagsOf, waitHeld } from '../support/crash.js';
import { eventually, stack, temporalClient, uniq } from '../support/env.js';
import { hold, proxy } from '../support/proxy.js';

// An activity whose completion the dead server never got is retried after its heartbeat timeout (1 min).
const AFTER_RESTART_MS = 120_000;

const subnets = () => [stack().seed.subnets[0]!.id, stack().seed.subnets[1]!.id];

/** The component runs (a test that failed between a kill and its restart must not leave the stack broken). */
async function ensureRunning(name: Component): Promise<void> {
  const pid = readState()?.pids[name];
  if (pid === undefined || !isAlive(pid)) await restartComponent(name);
}

/** kill -9 of a stack component; returns its PID, checked gone. */
async function kill9(name: Component): Promise<number> {
  const pid = await killComponent(name);
  expect(isAlive(pid)).toBe(false);
  return pid;
}

/** The controller is the process the test started: never exited, never restarted. */
function expectSameController(c: TestCluster, pid: number | undefined): void {
  expect(pid).toBeDefined();
  expect(c.controller.pid).toBe(pid);
  expect(isAlive(pid!)).toBe(true);
}

async function cleanUp(c: TestCluster | undefined): Promise<void> {
  await hold.release();
  await ensureRunning('temporal');
  await ensureRunning('kube-apiserver');
  await c?.teardown();
  await proxy.reset();
}

describe('kill -9 of the Temporal server, started again on its database', () => {
  let c: TestCluster | undefined;
  let current: string | undefined;

  beforeAll(async () => {
    await proxy.reset();
    c = await newCluster(2);
  }, 120000);
  afterEach(async () => {
    await hold.release();
    await ensureRunning('temporal');
    if (current) {
      await c!.delete(current);
      await c!.waitGone(current, AFTER_RESTART_MS).catch(() => undefined);
    }
  }, AFTER_RESTART_MS + 30000);
  afterAll(() => cleanUp(c), 300000);

  it('mid-converge (a create carried out, its answer withheld): one ENI per node and subnet, attached, Ready', async () => {
    const cl = c!;
    const name = (current = uniq('stack-temporal-converge'));
    const controllerPid = cl.controller.pid;
    await hold.set('CreateNetworkInterface', 1);
    await cl.apply(nodeENI(cl, name, subnets()));
    // The converge is under way: EC2 made one of this NodeENI's ENIs, the worker has not heard so yet.
    const [held] = await waitHeld('CreateNetworkInterface', async (h) => {
      const id = /<networkInterfaceId>([^<]+)</.exec(h.body)?.[1] ?? '';
      const tags = tagsOf((await eniById(cl, id)) ?? {});
      return tags.NodeENI === name || `${id} tagged ${JSON.stringify(tags)}`;
    });
    const heldEniId = /<networkInterfaceId>([^<]+)</.exec(held!.body)![1]!;

    await kill9('temporal');
    await hold.release(); // the answer reaches a worker whose server is gone
    await restartComponent('temporal');

    const obj = await cl.waitReady(name, 4, AFTER_RESTART_MS);
    const enis = await expectOneEniPerSubnet(cl, obj, subnets());
    // The ENI made before the crash is the one in use (the create's retry, if any, got it back by its ClientToken).
    expect([...enis.values()].map((e) => e.NetworkInterfaceId)).toContain(heldEniId);
    expectSameController(cl, controllerPid);

    await cl.delete(name);
    await cl.waitGone(name, AFTER_RESTART_MS);
    expect(await enisOf(cl, name)).toEqual([]);
  }, 300000);

  it('mid-release (a detach carried out, its answer withheld): the release finishes, no ENI is left', async () => {
    const cl = c!;
    const name = (current = uniq('stack-temporal-detach'));
    const controllerPid = cl.controller.pid;
    await cl.apply(nodeENI(cl, name, subnets()));
    const ready = await cl.waitReady(name, 4);
    const enis = [...(await expectOneEniPerSubnet(cl, ready, subnets())).values()];
    const eniIds = enis.map((e) => e.NetworkInterfaceId!);
    await hold.set('DetachNetworkInterface', 1);
    await cl.delete(name);
    await waitHeld('DetachNetworkInterface', async (h) => enis.some((e) => e.Attachment?.AttachmentId === h.params.AttachmentId) || `not one of ${eniIds.join(', ')}`);

    await kill9('temporal');
    await hold.release();
    await restartComponent('temporal');

    await cl.waitGone(name, AFTER_RESTART_MS);
    for (const id of eniIds) expect(await eniById(cl, id)).toBeUndefined();
    for (const n of cl.nodes) expect(await secondaryEnis(cl, n.instanceId)).toEqual([]);
    expectSameController(cl, controllerPid);
  }, 300000);

  it('a release asked for while the server is down: it finishes after the restart, no ENI is left', async () => {
    const cl = c!;
    const name = (current = uniq('stack-temporal-release'));
    const controllerPid = cl.controller.pid;
    await cl.apply(nodeENI(cl, name, subnets()));
    const ready = await cl.waitReady(name, 4);
    const eniIds = [...(await expectOneEniPerSubnet(cl, ready, subnets())).values()].map((e) => e.NetworkInterfaceId!);

    await kill9('temporal');
    await cl.delete(name);
    // The watcher saw the deletion and tried to signal the release: the server was not there to take it.
    const workflowIds = cl.nodes.map((n) => lifecycleWorkflowId(name, n.name));
    await eventually('the release signal refused while Temporal is down', async () => workflowIds.some((id) => cl.controller.tail(200).includes(`release signal to ${id} failed`)), 60000, 500);
    const pending = await cl.get(name);
    expect(pending?.metadata.deletionTimestamp).toBeDefined();
    expect(pending?.metadata.finalizers).toContain(NODEENI_FINALIZER);
    // Nothing was released meanwhile.
    for (const id of eniIds) expect((await eniById(cl, id))?.Status).toBe('in-use');

    await restartComponent('temporal');
    await cl.waitGone(name, AFTER_RESTART_MS);
    expect(await enisOf(cl, name)).toEqual([]);
    for (const id of eniIds) expect(await eniById(cl, id)).toBeUndefined();
    for (const n of cl.nodes) expect(await secondaryEnis(cl, n.instanceId)).toEqual([]);
    expectSameController(cl, controllerPid);
  }, 300000);
});

describe('kill -9 of the kube-apiserver while a release is in flight', () => {
  let c: TestCluster | undefined;

  beforeAll(async () => {
    await proxy.reset();
    c = await newCluster(2);
  }, 120000);
  afterAll(() => cleanUp(c), 300000);

  it('EC2 work goes on without the apiserver; once it is back the finalizer is removed and the NodeENI goes', async () => {
    const cl = c!;
    const name = uniq('stack-apiserver-release');
    const controllerPid = cl.controller.pid;
    await cl.apply(nodeENI(cl, name, subnets()));
    const ready = await cl.waitReady(name, 4);
    const enis = [...(await expectOneEniPerSubnet(cl, ready, subnets())).values()];
    const eniIds = enis.map((e) => e.NetworkInterfaceId!);

    await hold.set('DetachNetworkInterface', 1);
    await cl.delete(name);
    // The watcher saw the deletion and signalled the release: a detach of this NodeENI is carried out, unanswered.
    await waitHeld('DetachNetworkInterface', async (h) => enis.some((e) => e.Attachment?.AttachmentId === h.params.AttachmentId) || `not one of ${eniIds.join(', ')}`);

    const apiserverPid = await kill9('kube-apiserver');
    await hold.release();
    // Without the apiserver, every ENI of the NodeENI is detached and deleted in EC2 (seen straight from the emulator).
    await eventually(
      'every ENI of the NodeENI deleted in EC2 while the apiserver is down',
      async () => {
        const left = (await Promise.all(eniIds.map((id) => eniById(cl, id)))).filter((e) => e !== undefined);
        return left.length === 0 || false;
      },
      90000,
      500,
    );
    expect(await enisOf(cl, name)).toEqual([]);
    for (const n of cl.nodes) expect(await secondaryEnis(cl, n.instanceId)).toEqual([]);
    // ... and it was down all along: the PID killed is still the one recorded, and not running.
    expect(readState()!.pids['kube-apiserver']).toBe(apiserverPid);
    expect(isAlive(apiserverPid)).toBe(false);

    await restartComponent('kube-apiserver');
    // The status catches up and the watcher removes the finalizer: the NodeENI is gone.
    await cl.waitGone(name, AFTER_RESTART_MS);
    expect(await enisOf(cl, name)).toEqual([]);
    expectSameController(cl, controllerPid);
  }, 300000);

  // Before the patch `release-before-pass-status`, a pass interrupted by a release first waited for its status write
  // (reportPair retries until the apiserver answers), and only then did the release reach EC2.
  it('a release that interrupts a converge pass goes on in EC2 while the apiserver is down', async () => {
    const cl = c!;
    const name = uniq('stack-apiserver-midpass');
    const controllerPid = cl.controller.pid;
    await hold.set('AttachNetworkInterface', 1);
    await cl.apply(nodeENI(cl, name, subnets()));
    // A pass is under way: one of this NodeENI's attaches is carried out, its answer withheld.
    const [held] = await waitHeld('AttachNetworkInterface', async (h) => tagsOf((await eniById(cl, h.params.NetworkInterfaceId ?? '')) ?? {}).NodeENI === name || 'not this test\'s');
    const node = cl.nodes.find((n) => n.instanceId === held!.params.InstanceId)!;
    await cl.delete(name);
    // The pair whose pass waits on the attach has the release signal.
    const { client, connection } = await temporalClient();
    try {
      await eventually('the release received mid-pass', async () => {
        const st = await client.workflow.getHandle(lifecycleWorkflowId(name, node.name)).query<PairState>(QUERY_STATE);
        return (st.releasing && st.converging) || false;
      });
    } finally {
      await connection.close();
    }
    const apiserverPid = await kill9('kube-apiserver');
    await hold.release();
    // Without the apiserver, every ENI of the NodeENI is detached and deleted in EC2.
    await eventually('every ENI of the NodeENI deleted in EC2 while the apiserver is down', async () => (await enisOf(cl, name)).length === 0 || false, 60000, 500);
    for (const n of cl.nodes) expect(await secondaryEnis(cl, n.instanceId)).toEqual([]);
    expect(readState()!.pids['kube-apiserver']).toBe(apiserverPid);
    expect(isAlive(apiserverPid)).toBe(false);

    await restartComponent('kube-apiserver');
    await cl.waitGone(name, AFTER_RESTART_MS);
    expectSameController(cl, controllerPid);
  }, 300000);
});
