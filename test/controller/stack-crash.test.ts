// Crash safety of what the controller stands on, end to end: the Temporal server and the kube-apiserver are each
// killed with SIGKILL and started again on their data (dev/stack/stack.ts killComponent / restartComponent). The
// controller process rides it out (same PID): after a Temporal restart every (NodeENI, node, subnet) has exactly
// one ENI, Ready, and a release asked for while the server was down finishes without leaking; while the apiserver
// is down a release goes on in EC2, and the NodeENI goes once the apiserver is back.
import type { PairState } from '../../common/lifecycle-contract.js';
import { lifecycleWorkflowId, NODEENI_FINALIZER, QUERY_STATE } from '../../common/names.js';
import { isAlive } from '../../dev/stack/processes.js';
import { killComponent, readState, restartComponent, type Component } from '../../dev/stack/stack.js';
import { TestCluster } from '../support/cluster.js';
import { eniById, enisOf, expectOneEniPerSubnet, holdACreate, newCluster, nodeENI, secondaryEnis, tagsOf, waitHeld } from '../support/crash.js';
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
    // The converge is under way: EC2 made one of this NodeENI's ENIs, the worker has not heard so yet.
    const { eniId: heldEniId } = await holdACreate(cl, name, () => cl.apply(nodeENI(cl, name, subnets())));

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

describe('the controller started while Temporal is down', () => {
  let c: TestCluster | undefined;
  afterAll(() => cleanUp(c), 300000);

  /** A loopback port nobody listens on, and the next one too (the SDK's metrics take METRICS_PORT + 1). */
  const freePort = async (): Promise<number> => {
    const { createServer } = await import('node:net');
    for (;;) {
      const s = createServer();
      const port = await new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as { port: number }).port)));
      const next = createServer();
      const ok = await new Promise<boolean>((r) => next.once('error', () => r(false)).listen(port + 1, '127.0.0.1', () => r(true)));
      await new Promise((r) => s.close(r));
      if (ok) {
        await new Promise((r) => next.close(r));
        return port;
      }
    }
  };
  const get = async (port: number, path: string) => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) });
    return { status: r.status, body: await r.text() };
  };

  it('waits with backoff, alive and not ready with the reason; ready once Temporal is back, then converges', async () => {
    const port = await freePort();
    await proxy.reset();
    c = new TestCluster({ METRICS_PORT: String(port) });
    await c.addNodes(1, { 'crash-test': c.runId }); // what nodeENI() selects
    await kill9('temporal');
    c.controller.start();
    const pid = c.controller.pid;

    // Alive (liveness ok: no restart loop), not ready, and the reason names Temporal's address.
    const notReady = await eventually('/readyz 503 naming Temporal', async () => {
      const r = await get(port, '/readyz').catch(() => undefined);
      return r?.status === 503 && r.body.includes(`Temporal at ${stack().temporal.address} not usable yet`) ? r : false;
    }, 60000);
    expect(notReady.body).toMatch(/^not ready: /);
    expect((await get(port, '/healthz')).status).toBe(200);
    // It keeps trying (the try count grows) and does not exit.
    await eventually('a later try', async () => /try [3-9]\d*,/.test((await get(port, '/readyz')).body), 60000);
    expect(isAlive(pid!)).toBe(true);

    await restartComponent('temporal');
    await eventually('/readyz 200 once Temporal is back', async () => (await get(port, '/readyz')).status === 200, 90000);
    expectSameController(c, pid);
    const name = uniq('stack-late-temporal');
    await c.apply(nodeENI(c, name, [subnets()[0]!]));
    await c.waitReady(name, 1);
    await c.delete(name);
    await c.waitGone(name);
  }, 300000);
});
