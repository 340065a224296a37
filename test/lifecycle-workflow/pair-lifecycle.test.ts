// The lifecycle workflow (workflows/pair-lifecycle.ts) in Temporal's time-skipping test server, with mocked
// activities (fake-world.ts): compensation, release mid-converge, an absent node agent, revive, continue-as-new,
// retry on backoff, a spec change mid-converge, subnets converged at once. Timers are skipped, not waited for.
import path from 'node:path';
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure } from '@temporalio/activity';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { DesiredPair, LifecycleInput, PairState } from '../../common/lifecycle-contract.js';
import { kubeTaskQueue, nodeTaskQueue, QUERY_STATE, SEARCH_ATTRIBUTES, SIGNAL_RELEASE, SIGNAL_SPEC, WORKFLOW_TYPE_LIFECYCLE } from '../../common/names.js';
import { parseSpec, type NodeENISpec } from '../../common/nodeeni.js';
import { TOOLS_BIN } from '../../dev/stack/paths.js';
import { FakeWorld, gate } from './fake-world.js';

const serverPath = path.join(TOOLS_BIN, 'temporal-test-server');
let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  if (!fs.existsSync(serverPath)) throw new Error(`${serverPath} is missing: run \`npm run tools\` (dev/stack/install.sh) first`);
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: serverPath } } });
  // The test server has no list call: register the project's search attributes outright.
  const types = { Keyword: 2, KeywordList: 7 } as const; // temporal.api.enums.v1.IndexedValueType
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(Object.entries(SEARCH_ATTRIBUTES).map(([name, t]) => [name, types[t]])),
  });
  bundle = await bundleWorkflowCode({ workflowsPath: fileURLToPath(new URL('../../workflows/index.ts', import.meta.url)), logger: new DefaultLogger('WARN') });
}, 120_000);

afterAll(async () => {
  await env?.teardown();
});

function spec(extra: Record<string, unknown> = {}): NodeENISpec {
  const r = parseSpec({ nodeSelector: { ng: 'multi-eni' }, subnetIDs: ['subnet-a', 'subnet-b'], securityGroupIDs: ['sg-1'], deviceIndex: 1, mtu: 9001, ...extra });
  if (!r.ok) throw new Error(r.error);
  return r.spec;
}

interface Run {
  world: FakeWorld;
  handle: WorkflowHandleWithFirstExecutionRunId;
  desired: DesiredPair;
  state: () => Promise<PairState>;
}

/** Starts a pair on fresh task queues with the fake world's workers, runs `fn`, then stops the workers. */
async function withPair(fn: (r: Run) => Promise<void>, o: { spec?: NodeENISpec; agent?: boolean; historyLimit?: number; world?: FakeWorld } = {}): Promise<void> {
  const id = randomBytes(4).toString('hex');
  const taskQueue = `lifecycle-test-${id}`;
  const world = o.world ?? new FakeWorld();
  const desired: DesiredPair = { nodeENI: `ne-${id}`, nodeName: `node-${id}`, uid: 'uid-1', generation: 1, instanceId: 'i-0001', spec: o.spec ?? spec() };
  const connection = env.nativeConnection;
  const controller = world.controllerActivities();
  const workers = [
    await Worker.create({ connection, taskQueue, workflowBundle: bundle, activities: controller }),
    await Worker.create({ connection, taskQueue: kubeTaskQueue(taskQueue), activities: controller }),
  ];
  if (o.agent !== false) workers.push(await agentWorker(world, desired.nodeName));
  const handle = await env.client.workflow.start(WORKFLOW_TYPE_LIFECYCLE, {
    taskQueue,
    workflowId: `nodeeni/${desired.nodeENI}/${desired.nodeName}`,
    args: [{ desired, ...(o.historyLimit ? { historyLimit: o.historyLimit } : {}) } satisfies LifecycleInput],
  });
  const run: Run = { world, handle, desired, state: () => env.client.workflow.getHandle(handle.workflowId).query<PairState>(QUERY_STATE) };
  // A pair the test leaves running is ended first: its timers must not hold up time skipping for the next test.
  const body = fn(run).finally(async () => {
    const d = await env.client.workflow.getHandle(run.handle.workflowId).describe();
    if (d.status.name === 'RUNNING') await env.client.workflow.getHandle(run.handle.workflowId).terminate('test finished');
  });
  // Every worker stops (and lets go of the connection) before the test's own outcome is reported.
  await Promise.allSettled(workers.map((w) => w.runUntil(body)));
  await body;
}

function agentWorker(world: FakeWorld, nodeName: string): Promise<Worker> {
  return Worker.create({ connection: env.nativeConnection, taskQueue: nodeTaskQueue(nodeName), activities: world.agentActivities() });
}

/** Polls the query until `ok` holds (the server answers between workflow tasks); time is not skipped meanwhile. */
async function until(r: Run, what: string, ok: (s: PairState) => boolean, timeoutMs = 30_000): Promise<PairState> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    // A query the server cannot answer yet must not hang the test: cancel it after 5 s and ask again. Cancelled, not
    // abandoned: an abandoned call could retry after the environment's teardown and crash Jest (channel shut down).
    const s = await env.client.withAbortSignal(AbortSignal.timeout(5000), () => r.state()).catch(() => undefined);
    if (s && ok(s)) return s;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last state: ${JSON.stringify(s?.enis.map((e) => [e.subnetId, e.phase, e.message]))}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}
/** Waits until the pair's workflow runs in a later run than the first (it continued as new). */
async function untilNewRun(r: Run, timeoutMs = 30_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const d = await env.client.workflow.getHandle(r.handle.workflowId).describe();
    if (d.runId !== r.handle.firstExecutionRunId) return d.runId;
    if (Date.now() > end) throw new Error('the workflow did not continue as new');
    await new Promise((res) => setTimeout(res, 50));
  }
}
/** Another NodeENI's ENI, attached to the test's instance at `deviceIndex`. */
const foreignEni = (deviceIndex: number) => ({
  eniId: 'eni-other',
  subnetId: 'subnet-a',
  macAddress: '02:00:00:00:00:99',
  securityGroupIds: [],
  privateIp: '10.0.1.99',
  secondaryIps: [],
  prefixes: [],
  tags: { NodeENI: 'someone-else' },
  attachment: { attachmentId: 'attach-other', instanceId: 'i-0001', deviceIndex, status: 'attached', deleteOnTermination: true },
});
const allReady = (s: PairState) => !s.converging && s.enis.length > 0 && s.enis.every((e) => e.phase === 'Ready');

/** Resolves when the named activity is entered; the call then waits until `release()` is called. */
function hold(world: FakeWorld, name: string): { entered: Promise<unknown>; release: () => void } {
  const g = gate();
  let entered!: (input: unknown) => void;
  const p = new Promise<unknown>((r) => (entered = r));
  world.before[name] = async (input: unknown) => {
    delete world.before[name];
    entered(input);
    await g.wait;
  };
  return { entered: p, release: g.open };
}

describe('lifecycle workflow (time-skipping server, mocked activities)', () => {
  it('converges both subnets at once: both creates are issued before either attach, indexes planned in spec order', async () => {
    await withPair(async (r) => {
      const s = await until(r, 'Ready', allReady);
      const order = r.world.calls.map((c) => c.name);
      expect(order.lastIndexOf('createEni')).toBeLessThan(order.indexOf('attachEni'));
      expect(s.enis.map((e) => [e.subnetId, e.deviceIndex, e.interfaceName, e.mtuApplied])).toEqual([
        ['subnet-a', 1, 'eth1', 9001],
        ['subnet-b', 2, 'eth2', 9001],
      ]);
      // DeleteOnTermination is set with the wait for the attachment: no call of its own.
      expect(r.world.count('setDeleteOnTermination')).toBe(0);
      expect([...r.world.enis.values()].every((e) => e.attachment?.deleteOnTermination === true)).toBe(true);
      // The final status is written; the pass's Events ride along in the same reports.
      expect(r.world.lastStatus()?.map((a) => [a.subnetID, a.phase, a.status])).toEqual([
        ['subnet-a', 'Ready', 'attached'],
        ['subnet-b', 'Ready', 'attached'],
      ]);
      expect(r.world.eventReasons()).toEqual(expect.arrayContaining(['ENICreated', 'ENIAttached', 'ENIConfigured']));
      expect(r.world.count('reportPair')).toBeLessThanOrEqual(3);
      await r.handle.signal(SIGNAL_RELEASE, { reason: 'test done' });
      expect(await r.handle.result()).toEqual({ released: expect.arrayContaining([...s.enis.map((e) => e.eniId)]) });
      expect(r.world.enis.size).toBe(0);
    });
  });

  it('counts a subnet named by ID and by name once', async () => {
    await withPair(
      async (r) => {
        const s = await until(r, 'Ready', allReady);
        expect(s.enis.map((e) => e.subnetId)).toEqual(['subnet-b']);
        expect(r.world.lastStatus()).toHaveLength(1);
      },
      { spec: spec({ subnetIDs: ['subnet-b'], subnetNames: ['user-plane'] }) },
    );
  });

  it('compensates a failed attach: the ENI it created is deleted and the subnet reports Failed with the reason', async () => {
    const world = new FakeWorld();
    world.before.attachEni = (input: { eniId: string }) => {
      if (input.eniId === 'eni-0002') throw ApplicationFailure.nonRetryable('InvalidParameterCombination: the ENI and the instance are in different availability zones', 'InvalidParameterCombination');
    };
    await withPair(
      async (r) => {
        const s = await until(r, 'one Ready, one Failed', (x) => !x.converging && x.enis.some((e) => e.phase === 'Failed') && x.enis.some((e) => e.phase === 'Ready'));
        const failed = s.enis.find((e) => e.phase === 'Failed')!;
        expect(failed.eniId).toBeUndefined();
        expect(failed.message).toContain('InvalidParameterCombination');
        expect(r.world.calls.filter((c) => c.name === 'deleteEni').map((c) => c.input)).toEqual([{ eniId: 'eni-0002' }]);
        expect(r.world.enis.has('eni-0002')).toBe(false);
        expect(r.world.eventReasons()).toContain('ENIAttachmentFailed');
        expect(r.world.lastStatus()?.find((a) => a.phase === 'Failed')?.message).toContain('InvalidParameterCombination');
      },
      { world },
    );
  });

  it('on a full instance creates nothing, waits (Pending, with why, one Warning) and converges when a slot frees', async () => {
    const world = new FakeWorld();
    world.maxInterfaces = 3; // the primary and two more
    world.enis.set('eni-other', foreignEni(2));
    await withPair(
      async (r) => {
        // Subnet a gets index 1; subnet b asks for 2, held by another NodeENI's ENI, and 3 is past the limit.
        const s = await until(r, 'one Ready, one waiting for a slot', (x) => !x.converging && x.enis.some((e) => e.phase === 'Ready') && x.enis.some((e) => e.waitingForSlot === true));
        const waiting = s.enis.find((e) => e.waitingForSlot)!;
        expect(waiting).toMatchObject({ subnetId: 'subnet-b', phase: 'Pending' });
        expect(waiting.eniId).toBeUndefined();
        expect(waiting.message).toBe('no free device index at or above 2 on i-0001 (its instance type takes 3 network interfaces); in use: 0, 1, 2');
        expect(r.world.count('createEni')).toBe(1);
        // Looking again costs one inspect per try, and warns once.
        await env.sleep('31s');
        await until(r, 'looked again', () => r.world.count('inspectPair') >= 3);
        expect(r.world.count('createEni')).toBe(1);
        expect(r.world.eventReasons().filter((e) => e === 'NoFreeDeviceIndex')).toHaveLength(1);
        r.world.enis.delete('eni-other');
        await env.sleep('61s');
        const done = await until(r, 'Ready once the slot freed', allReady);
        expect(done.enis.map((e) => e.deviceIndex)).toEqual([1, 2]);
        expect(r.world.count('deleteEni')).toBe(0);
      },
      { world },
    );
  });

  it('keeps an ENI that found the instance full at attach time (no delete) and attaches it when a slot frees', async () => {
    const world = new FakeWorld();
    world.maxInterfaces = 2;
    // Between the pass's look and its attach, another NodeENI took the instance's only free slot.
    world.before.attachEni = () => {
      if (!world.enis.has('eni-other')) world.enis.set('eni-other', foreignEni(1));
    };
    await withPair(
      async (r) => {
        const s = await until(r, 'waiting with its ENI', (x) => !x.converging && x.enis[0]?.waitingForSlot === true);
        const eniId = s.enis[0]!.eniId!;
        expect(eniId).toBeDefined();
        expect(s.enis[0]!.message).toMatch(/^eni-\d+ is created and waits: .*no free device index/);
        expect(r.world.count('deleteEni')).toBe(0);
        expect(r.world.enis.has(eniId)).toBe(true);
        r.world.before.attachEni = () => undefined;
        r.world.enis.delete('eni-other');
        await env.sleep('61s');
        const done = await until(r, 'Ready with the same ENI', allReady);
        expect(done.enis.map((e) => [e.eniId, e.deviceIndex])).toEqual([[eniId, 1]]);
        expect(r.world.count('createEni')).toBe(1);
      },
      { world, spec: spec({ subnetIDs: ['subnet-a'] }) },
    );
  });

  it('retries a failed pair on its backoff (time skipped) and converges when EC2 lets it', async () => {
    const world = new FakeWorld();
    let refuse = true;
    world.before.createEni = () => {
      if (refuse) throw ApplicationFailure.nonRetryable('InsufficientFreeAddressesInSubnet: no free address', 'InsufficientFreeAddressesInSubnet');
    };
    await withPair(
      async (r) => {
        await until(r, 'Failed', (x) => !x.converging && x.enis.every((e) => e.phase === 'Failed'));
        refuse = false;
        const creates = r.world.count('createEni');
        await env.sleep('61s');
        await until(r, 'Ready after the backoff', allReady);
        expect(r.world.count('createEni')).toBe(creates + 2);
      },
      { world, spec: spec() },
    );
  });

  it('shows a retryable error that persists (attempts, message, Warning) instead of retrying silently, and still releases', async () => {
    const world = new FakeWorld();
    world.before.inspectPair = () => {
      throw ApplicationFailure.retryable("DescribeSecurityGroups: InternalError: the security group name 'sg[1]' broke the server", 'InternalError');
    };
    await withPair(
      async (r) => {
        await env.sleep('2m'); // the step's retries (about a minute of backoff), skipped
        const s = await until(r, 'Failed', (x) => !x.converging && x.enis.length > 0 && x.enis.every((e) => e.phase === 'Failed'));
        expect(s.enis[0]!.message).toMatch(/InternalError: .*still failing after 7 attempts/);
        // 7 attempts per pass (a later pass may have begun once the skipped time passed its backoff).
        expect(r.world.count('inspectPair')).toBeGreaterThanOrEqual(7);
        expect(r.world.eventReasons()).toContain('ENICreationFailed');
        expect(r.world.lastStatus()?.[0]?.message).toContain('still failing after 7 attempts');
        await r.handle.signal(SIGNAL_RELEASE, { reason: 'NodeENI deleted' });
        expect(await r.handle.result()).toEqual({ released: [] });
      },
      { world },
    );
  });

  it('stops a converge when released mid-way and frees what it made', async () => {
    const world = new FakeWorld();
    const held = hold(world, 'waitAttached');
    await withPair(
      async (r) => {
        await held.entered;
        await r.handle.signal(SIGNAL_RELEASE, { reason: 'node gone' });
        held.release();
        const result = (await r.handle.result()) as { released: string[] };
        expect(result.released.length).toBeGreaterThan(0);
        expect(r.world.enis.size).toBe(0);
        expect(r.world.count('configureInterface')).toBeLessThan(2);
        expect(r.world.lastStatus()).toEqual([]);
        expect(r.world.eventReasons()).toContain('ENIDeleted');
      },
      { world },
    );
  });

  it('a release mid-pass goes to EC2 while the status cannot be written (apiserver down), and the status follows', async () => {
    const world = new FakeWorld();
    const held = hold(world, 'waitAttached');
    let apiserverUp = true;
    world.before.reportPair = () => {
      if (!apiserverUp) throw new Error('connect ECONNREFUSED 127.0.0.1:6443');
    };
    await withPair(
      async (r) => {
        await held.entered;
        apiserverUp = false;
        await r.handle.signal(SIGNAL_RELEASE, { reason: 'NodeENI deleted' });
        held.release();
        // Every ENI the pass made is detached and deleted while every status write fails.
        const deadline = Date.now() + 20_000;
        while (r.world.count('deleteEni') === 0 || r.world.enis.size > 0) {
          if (Date.now() > deadline) throw new Error(`EC2 release waited on the status: ${r.world.calls.map((c) => c.name).join(', ')}`);
          await new Promise((res) => setTimeout(res, 50));
        }
        const reportsSoFar = r.world.reports.length;
        apiserverUp = true;
        const result = (await r.handle.result()) as { released: string[] };
        expect(result.released.length).toBeGreaterThan(0);
        // The status caught up afterwards: the last write says nothing is left.
        expect(r.world.reports.length).toBeGreaterThan(reportsSoFar);
        expect(r.world.lastStatus()).toEqual([]);
      },
      { world },
    );
  });

  it('waits for an absent node agent and converges once it is back', async () => {
    const world = new FakeWorld();
    await withPair(
      async (r) => {
        // The node queue's schedule-to-start bound (1 min) runs on the server's clock even here: no task is polled.
        const waiting = await until(r, 'WaitingForNodeAgent', (x) => !x.converging && x.enis.every((e) => e.phase === 'WaitingForNodeAgent'), 90_000);
        expect(waiting.enis[0]!.message).toContain(nodeTaskQueue(r.desired.nodeName));
        expect(r.world.lastStatus()?.every((a) => a.phase === 'WaitingForNodeAgent' && a.status === 'attached')).toBe(true);
        const agent = await agentWorker(r.world, r.desired.nodeName);
        await agent.runUntil(async () => {
          await env.sleep('31s'); // the first retry after 30 s, skipped
          await until(r, 'Ready', allReady);
        });
        // The ENIs were not re-created or re-attached while the agent was away.
        expect(r.world.count('createEni')).toBe(2);
        expect(r.world.count('attachEni')).toBe(2);
      },
      { world, agent: false },
    );
  });

  it('applies a spec change that arrives mid-converge (MTU) without re-creating anything', async () => {
    const world = new FakeWorld();
    const held = hold(world, 'waitAttached');
    await withPair(
      async (r) => {
        await held.entered;
        await r.handle.signal(SIGNAL_SPEC, { ...r.desired, generation: 2, spec: spec({ mtu: 1500 }) });
        held.release();
        const s = await until(r, 'Ready at MTU 1500', (x) => allReady(x) && x.enis.every((e) => e.mtuApplied === 1500));
        expect(s.desired.generation).toBe(2);
        expect(r.world.count('createEni')).toBe(2);
        expect(r.world.lastStatus()?.map((a) => a.mtu)).toEqual([1500, 1500]);
      },
      { world },
    );
  });

  it('sourceDestCheck: false is set on each ENI and shown; set back to true on a spec change; unset writes nothing', async () => {
    await withPair(
      async (r) => {
        const s = await until(r, 'Ready', allReady);
        expect([...r.world.enis.values()].map((e) => e.sourceDestCheck)).toEqual([false, false]);
        expect(r.world.count('setSourceDestCheck')).toBe(2);
        expect(r.world.lastStatus()?.map((a) => a.sourceDestCheck)).toEqual([false, false]);
        expect(s.enis.every((e) => e.sourceDestCheck === false)).toBe(true);
        await r.handle.signal(SIGNAL_SPEC, { ...r.desired, generation: 2, spec: spec({ sourceDestCheck: true }) });
        await until(r, 'checks back on', (x) => allReady(x) && x.desired.generation === 2 && x.enis.every((e) => e.sourceDestCheck === true));
        expect([...r.world.enis.values()].map((e) => e.sourceDestCheck)).toEqual([true, true]);
        expect(r.world.count('setSourceDestCheck')).toBe(4);
        expect(r.world.count('createEni')).toBe(2);
      },
      { spec: spec({ sourceDestCheck: false }) },
    );
    await withPair(async (r) => {
      await until(r, 'Ready', allReady);
      expect(r.world.count('setSourceDestCheck')).toBe(0);
      expect(r.world.lastStatus()?.every((a) => !('sourceDestCheck' in a))).toBe(true);
    });
  });

  it('addresses: asked for at create, grown and shrunk on a spec change on the same ENIs, shown in status; over the type limit nothing is created', async () => {
    const world = new FakeWorld();
    world.ipv4PerInterface = 10;
    await withPair(
      async (r) => {
        const s = await until(r, 'Ready', allReady);
        expect(r.world.calls.filter((c) => c.name === 'createEni').map((c) => (c.input as { addresses?: unknown }).addresses)).toEqual([
          { secondaryIPv4Count: 2, ipv4PrefixCount: 1 },
          { secondaryIPv4Count: 2, ipv4PrefixCount: 1 },
        ]);
        // Created with them: nothing more to assign.
        expect(r.world.count('ensureAddresses')).toBe(0);
        expect(s.enis.every((e) => e.secondaryIps?.length === 2 && e.prefixes?.length === 1)).toBe(true);
        const status = r.world.lastStatus()!;
        expect(status.map((a) => a.secondaryIPv4Addresses?.length)).toEqual([2, 2]);
        expect(status.map((a) => a.ipv4Prefixes?.length)).toEqual([1, 1]);
        expect(status.every((a) => /^10\.0\.9\.\d+$/.test(a.privateIPv4Address ?? ''))).toBe(true);

        await r.handle.signal(SIGNAL_SPEC, { ...r.desired, generation: 2, spec: spec({ secondaryIPv4Count: 4, ipv4PrefixCount: 0 }) });
        const grown = await until(r, 'four secondaries, no prefix', (x) => allReady(x) && x.desired.generation === 2 && x.enis.every((e) => e.secondaryIps?.length === 4 && e.prefixes?.length === 0));
        expect(r.world.count('createEni')).toBe(2);
        expect(r.world.count('ensureAddresses')).toBe(2);
        // The two addresses the ENI had are kept (pods may use them); two more are added.
        expect(grown.enis[0]!.secondaryIps!.slice(0, 2)).toEqual(s.enis[0]!.secondaryIps);
        expect(r.world.lastStatus()?.every((a) => a.secondaryIPv4Addresses?.length === 4 && a.ipv4Prefixes === undefined)).toBe(true);

        // 9 + 1 prefix + the primary = 11 > 10: Failed with why, a Warning, no EC2 change.
        await r.handle.signal(SIGNAL_SPEC, { ...r.desired, generation: 3, spec: spec({ secondaryIPv4Count: 9, ipv4PrefixCount: 1 }) });
        const over = await until(r, 'Failed over the limit', (x) => !x.converging && x.desired.generation === 3 && x.enis.every((e) => e.phase === 'Failed'));
        expect(over.enis[0]!.message).toContain('need 11 IPv4 addresses per interface; m5.large allows 10');
        expect(r.world.count('ensureAddresses')).toBe(2);
        expect(r.world.eventReasons()).toContain('AddressLimitExceeded');
      },
      { world, spec: spec({ secondaryIPv4Count: 2, ipv4PrefixCount: 1 }) },
    );
    const fresh = new FakeWorld();
    fresh.ipv4PerInterface = 3;
    await withPair(
      async (r) => {
        await until(r, 'Failed', (x) => !x.converging && x.enis.length === 2 && x.enis.every((e) => e.phase === 'Failed'));
        expect(r.world.count('createEni')).toBe(0);
        expect(r.world.lastStatus()?.[0]?.message).toContain('m5.large allows 3');
      },
      { world: fresh, spec: spec({ secondaryIPv4Count: 3 }) },
    );
  });

  it('revives after a release when wanted again: finishes the release, then starts over with the new spec', async () => {
    const world = new FakeWorld();
    await withPair(
      async (r) => {
        await until(r, 'Ready', allReady);
        const held = hold(world, 'deleteEni');
        await r.handle.signal(SIGNAL_RELEASE, { reason: 'node relabelled' });
        await held.entered;
        await r.handle.signal(SIGNAL_SPEC, { ...r.desired, generation: 2, spec: spec({ subnetIDs: ['subnet-a'] }) });
        held.release();
        const s = await until(r, 'Ready again', (x) => allReady(x) && x.enis.length === 1 && !x.releasing);
        expect(s.desired.generation).toBe(2);
        expect(r.world.count('deleteEni')).toBe(2);
        expect(r.world.count('createEni')).toBe(3);
        await untilNewRun(r);
      },
      { world },
    );
  });

  it('continues as new at rest past the history limit, carrying its ENIs (no new EC2 work)', async () => {
    await withPair(
      async (r) => {
        await until(r, 'Ready', allReady);
        await untilNewRun(r);
        const s = await r.state();
        expect(s.enis.map((e) => e.eniId).sort()).toEqual(['eni-0001', 'eni-0002']);
        const before = r.world.calls.length;
        // A repair pass in the new run finds everything in place.
        await env.client.workflow.getHandle(r.handle.workflowId).signal('repair', { reason: 'test', eniIds: [] });
        await until(r, 'Ready after repair', (x) => allReady(x));
        const after = r.world.calls.slice(before).map((c) => c.name);
        expect(after.filter((n) => ['createEni', 'attachEni', 'configureInterface'].includes(n))).toEqual([]);
      },
      { historyLimit: 20 },
    );
  });
});
