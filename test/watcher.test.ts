// The watcher against the real local stack: kube-apiserver (with the NodeENI CRD) and Temporal. A stand-in
// lifecycle workflow on a test task queue records what the watcher sends; the watcher itself is the real one.
// Every test scopes its watcher to its own NodeENIs by label, because other test files share the stack.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  V1MicroTime,
} from '@kubernetes/client-node';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { API_GROUP, API_VERSION, NODEENI_FINALIZER, NODEENI_PLURAL, lifecycleWorkflowId } from '../common/names.js';
import type { NodeENI } from '../common/nodeeni.js';
import { readState } from '../dev/stack/stack.js';
import { startWatcher, SA_INSTANCE_ID, SA_NODEENI, SA_NODE_NAME, type StartWatcherOptions, type WatcherHandle } from '../watcher/index.js';
import type { Recorded } from './watcher/workflows/fake-lifecycle.js';
import { eventually } from './support/env.js';

const suffix = randomBytes(3).toString('hex');
const TASK_QUEUE = `watcher-test-${suffix}`;
const SCOPE_LABEL = 'watcher-test.multi-eni.io/scope';
const FOREIGN_FINALIZER = 'example.com/keep-me';
/** Per test: `testTimeout` in a Jest project entry is not applied (it is a global option). */
const TEST_TIMEOUT_MS = 120000;
const workflowsPath = fileURLToPath(new URL('./watcher/workflows/fake-lifecycle.ts', import.meta.url));

let kc: KubeConfig;
let custom: CustomObjectsApi;
let core: CoreV1Api;
let coordination: CoordinationV1Api;
let nativeConnection: NativeConnection;
let connection: Connection;
let client: Client;
let worker: Worker;
let workerRun: Promise<void>;
const watchers: WatcherHandle[] = [];
const createdNodes: string[] = [];
const createdNodeENIs: string[] = [];
const logs: string[] = [];
let testNo = 0;

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

beforeAll(async () => {
  const state = readState();
  if (!state) throw new Error('no local stack state: the integration global setup should have started the stack');
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // Installed already by another test file in this process.
  }
  kc = new KubeConfig();
  kc.loadFromFile(state.kube.kubeconfig);
  custom = kc.makeApiClient(CustomObjectsApi);
  core = kc.makeApiClient(CoreV1Api);
  coordination = kc.makeApiClient(CoordinationV1Api);
  nativeConnection = await NativeConnection.connect({ address: state.temporal.address });
  connection = await Connection.connect({ address: state.temporal.address });
  client = new Client({ connection, namespace: state.temporal.namespace });
  worker = await Worker.create({ connection: nativeConnection, namespace: state.temporal.namespace, taskQueue: TASK_QUEUE, workflowsPath });
  workerRun = worker.run();
}, TEST_TIMEOUT_MS);

afterEach(async () => {
  await Promise.all(watchers.splice(0).map((w) => w.stop()));
  // Leave the shared stack clean: NodeENIs without finalizers, then gone; nodes gone.
  for (const name of createdNodeENIs.splice(0)) {
    try {
      await custom.patchClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, name, body: { metadata: { finalizers: null } } }, mergePatch);
      await custom.deleteClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, name });
    } catch (err) {
      if (!(err instanceof ApiException && err.code === 404)) throw err;
    }
  }
  for (const name of createdNodes.splice(0)) {
    await core.deleteNode({ name }).catch((err: unknown) => {
      if (!(err instanceof ApiException && err.code === 404)) throw err;
    });
  }
}, TEST_TIMEOUT_MS);

afterAll(async () => {
  if (client) {
    for await (const wf of client.workflow.list({ query: `TaskQueue="${TASK_QUEUE}" AND ExecutionStatus="Running"` })) {
      await client.workflow.getHandle(wf.workflowId, wf.runId).terminate('watcher test cleanup').catch(() => undefined);
    }
  }
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await workerRun;
  await connection?.close();
  await nativeConnection?.close();
}, TEST_TIMEOUT_MS);

/** A fresh scope (label value) and name prefix for one test. */
function scope(): { scope: string; prefix: string } {
  testNo++;
  return { scope: `${suffix}-${testNo}`, prefix: `wt-${suffix}-${testNo}` };
}

function watcher(scopeValue: string, extra: Partial<StartWatcherOptions> = {}): WatcherHandle {
  const h = startWatcher({
    kubeConfig: kc,
    client,
    taskQueue: TASK_QUEUE,
    nodeENISelector: `${SCOPE_LABEL}=${scopeValue}`,
    debounceMs: 100,
    pollIntervalMs: 300,
    relistSeconds: 2,
    logger: {
      info: (m) => logs.push(`info ${m}`),
      warn: (m) => logs.push(`warn ${m}`),
      error: (m) => logs.push(`error ${m}`),
    },
    ...extra,
  });
  watchers.push(h);
  return h;
}

async function stopWatcher(h: WatcherHandle): Promise<void> {
  await h.stop();
  watchers.splice(watchers.indexOf(h), 1);
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30000): Promise<T> {
  try {
    return await eventually(what, async () => fn(), timeoutMs, 200);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nwatcher log:\n${logs.slice(-30).join('\n')}`);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function createNode(name: string, labels: Record<string, string>, instanceId?: string): Promise<void> {
  await core.createNode({
    body: { metadata: { name, labels }, spec: instanceId ? { providerID: `aws:///us-east-1a/${instanceId}` } : {} },
  });
  createdNodes.push(name);
}

async function patchNodeLabels(name: string, labels: Record<string, string | null>): Promise<void> {
  await core.patchNode({ name, body: { metadata: { labels } } }, mergePatch);
}

async function createNodeENI(name: string, scopeValue: string, spec: Record<string, unknown>, finalizers?: string[]): Promise<void> {
  await custom.createClusterCustomObject({
    group: API_GROUP,
    version: API_VERSION,
    plural: NODEENI_PLURAL,
    body: {
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: 'NodeENI',
      metadata: { name, labels: { [SCOPE_LABEL]: scopeValue }, ...(finalizers ? { finalizers } : {}) },
      spec: { subnetID: 'subnet-0a1b2c3d4e5f60001', securityGroupIDs: ['sg-0a1b2c3d4e5f60001'], ...spec },
    },
  });
  createdNodeENIs.push(name);
}

async function getNodeENI(name: string): Promise<NodeENI | undefined> {
  try {
    return (await custom.getClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, name })) as NodeENI;
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return undefined;
    throw err;
  }
}

async function patchSpec(name: string, spec: Record<string, unknown>): Promise<void> {
  await custom.patchClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, name, body: { spec } }, mergePatch);
}

async function runStatus(workflowId: string): Promise<string | undefined> {
  try {
    return (await client.workflow.getHandle(workflowId).describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

async function recorded(workflowId: string): Promise<Recorded> {
  return client.workflow.getHandle(workflowId).query<Recorded>('recorded');
}

/** How many runs (executions) a workflow ID has had. */
async function runCount(workflowId: string): Promise<number> {
  let n = 0;
  for await (const _ of client.workflow.list({ query: `WorkflowId="${workflowId}"` })) n++;
  return n;
}

/** A TCP pipe to the apiserver that the test can cut and restore, to break the watcher's watches for real. */
class CuttableProxy {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  constructor(private readonly target: URL) {}

  async open(): Promise<void> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(Number(this.target.port), this.target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  /** Stops accepting and resets every connection. */
  async cut(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server?.close(() => resolve()));
    for (const s of this.sockets) s.resetAndDestroy();
    await closed;
  }
}

function condition(n: NodeENI | undefined, type: string) {
  return n?.status?.conditions?.find((c) => c.type === type);
}

describe('watcher', () => {
  test('starts one workflow per matching node, adds the finalizer, releases an unlabelled node only, sends nothing when nothing changes', async () => {
    const { scope: s, prefix } = scope();
    const sel = `${prefix}-pool`;
    const [n1, n2, noId, other] = [`${prefix}-n1`, `${prefix}-n2`, `${prefix}-noid`, `${prefix}-other`];
    const ne = `${prefix}-ne`;
    await createNode(n1, { [sel]: 'yes' }, 'i-0aaa000000000001');
    await createNode(n2, { [sel]: 'yes' }, 'i-0aaa000000000002');
    await createNode(noId, { [sel]: 'yes' }); // no providerID: no instance to attach to
    await createNode(other, { [sel]: 'no' }, 'i-0aaa000000000003');
    await createNodeENI(ne, s, { nodeSelector: { [sel]: 'yes' } }, [FOREIGN_FINALIZER]);
    const w = watcher(s);

    const id1 = lifecycleWorkflowId(ne, n1);
    const id2 = lifecycleWorkflowId(ne, n2);
    await waitFor('both pair workflows running', async () => (await runStatus(id1)) === 'RUNNING' && (await runStatus(id2)) === 'RUNNING');

    const d1 = await client.workflow.getHandle(id1).describe();
    expect(d1.type).toBe('eniLifecycle');
    expect(d1.taskQueue).toBe(TASK_QUEUE);
    expect(d1.typedSearchAttributes.get(SA_NODEENI)).toBe(ne);
    expect(d1.typedSearchAttributes.get(SA_NODE_NAME)).toBe(n1);
    expect(d1.typedSearchAttributes.get(SA_INSTANCE_ID)).toBe('i-0aaa000000000001');
    expect(await d1.staticSummary()).toBe(`ENIs of NodeENI ${ne} on node ${n1} (i-0aaa000000000001)`);
    const r1 = await recorded(id1);
    expect(r1.started).toMatchObject({ nodeENI: ne, nodeName: n1, instanceId: 'i-0aaa000000000001', generation: 1 });
    expect(r1.started.spec).toMatchObject({ deviceIndex: 1, deleteOnTermination: true, subnetID: 'subnet-0a1b2c3d4e5f60001' });
    expect(r1.specs).toHaveLength(1);
    expect((await recorded(id2)).specs).toHaveLength(1);
    expect(await runStatus(lifecycleWorkflowId(ne, noId))).toBeUndefined();
    expect(await runStatus(lifecycleWorkflowId(ne, other))).toBeUndefined();

    // Our finalizer is added next to the one already there.
    const withFinalizer = await waitFor('finalizer', async () => {
      const o = await getNodeENI(ne);
      return o?.metadata.finalizers?.includes(NODEENI_FINALIZER) ? o : undefined;
    });
    expect(withFinalizer.metadata.finalizers).toEqual([FOREIGN_FINALIZER, NODEENI_FINALIZER]);

    // Status: two nodes, one subnet each, none ready yet (the stand-in writes no attachments).
    const withStatus = await waitFor('status', async () => {
      const o = await getNodeENI(ne);
      return o?.status?.observedGeneration === 1 && o.status.nodeCount === 2 ? o : undefined;
    });
    expect(withStatus.status).toMatchObject({ ready: '0/2', readyCount: 0, desiredCount: 2, nodeCount: 2 });
    expect(condition(withStatus, 'Progressing')).toMatchObject({ status: 'True', reason: 'Converging' });

    // Several relists (every 2 s) with nothing changed: reconciles run, but no signal and no status write.
    const before = { ...w.counters };
    await sleep(5000);
    expect(w.counters.reconciles).toBeGreaterThan(before.reconciles);
    expect(w.counters.signalsSent).toBe(before.signalsSent);
    expect(w.counters.statusWrites).toBe(before.statusWrites);
    expect(w.counters.releasesSent).toBe(0);
    expect((await recorded(id1)).specs).toHaveLength(1);
    expect((await recorded(id2)).specs).toHaveLength(1);
    expect((await getNodeENI(ne))?.metadata.resourceVersion).toBe(withStatus.metadata.resourceVersion);

    // Unlabel n2: its pair alone is released, with the reason.
    await patchNodeLabels(n2, { [sel]: null });
    await waitFor('n2 pair finished', async () => (await runStatus(id2)) === 'COMPLETED');
    expect((await recorded(id2)).releases).toEqual([{ reason: `node ${n2} no longer matches the nodeSelector` }]);
    expect(await runStatus(id1)).toBe('RUNNING');
    expect((await recorded(id1)).releases).toEqual([]);
    expect(w.counters.releasesSent).toBe(1);
    await waitFor('status shows one node', async () => (await getNodeENI(ne))?.status?.nodeCount === 1);

    // Label it again: a new run of the same workflow ID starts (the previous one finished).
    await patchNodeLabels(n2, { [sel]: 'yes' });
    await waitFor('n2 pair running again', async () => (await runStatus(id2)) === 'RUNNING');
    expect(await runCount(id2)).toBe(2);
    expect(await runCount(id1)).toBe(1);
  }, TEST_TIMEOUT_MS);

  test('a restarted watcher re-sends each spec signal once and starts no duplicate workflow', async () => {
    const { scope: s, prefix } = scope();
    const sel = `${prefix}-pool`;
    const [n1, n2] = [`${prefix}-n1`, `${prefix}-n2`];
    const ne = `${prefix}-ne`;
    await createNode(n1, { [sel]: 'yes' }, 'i-0bbb000000000001');
    await createNode(n2, { [sel]: 'yes' }, 'i-0bbb000000000002');
    await createNodeENI(ne, s, { nodeSelector: { [sel]: 'yes' }, mtu: 9001 });
    const ids = [lifecycleWorkflowId(ne, n1), lifecycleWorkflowId(ne, n2)];

    const first = watcher(s);
    await waitFor('pairs running', async () => (await Promise.all(ids.map(runStatus))).every((x) => x === 'RUNNING'));
    await waitFor('first status write', async () => (await getNodeENI(ne))?.status?.nodeCount === 2);
    await stopWatcher(first);

    const second = watcher(s);
    await waitFor('the new watcher re-sent both specs', () => second.counters.signalsSent === 2);
    // Over a few relists of the new process: no more signals.
    await sleep(4500);
    expect(second.counters.signalsSent).toBe(2);
    expect(second.counters.statusWrites).toBe(0); // the status the first one wrote is still right
    for (const id of ids) {
      const r = await recorded(id);
      expect(r.specs).toHaveLength(2); // once from each process
      expect(r.specs[1]).toEqual(r.specs[0]);
      expect(await runCount(id)).toBe(1);
    }
  }, TEST_TIMEOUT_MS);

  test('a pair whose workflow ended without being released (terminated) is started again at a relist', async () => {
    const { scope: s, prefix } = scope();
    const sel = `${prefix}-pool`;
    const n1 = `${prefix}-n1`;
    const ne = `${prefix}-ne`;
    await createNode(n1, { [sel]: 'yes' }, 'i-0abc000000000001');
    await createNodeENI(ne, s, { nodeSelector: { [sel]: 'yes' } });
    const id = lifecycleWorkflowId(ne, n1);
    const w = watcher(s);
    await waitFor('pair running', async () => (await runStatus(id)) === 'RUNNING');
    await client.workflow.getHandle(id).terminate('test: an operator terminated it');
    // Nothing in the cluster changed, so only the relist's running-workflow list can notice (after the
    // visibility margin of 10 s); then the pair is started anew.
    await waitFor('a new run', async () => (await runStatus(id)) === 'RUNNING', 30000);
    expect(await runCount(id)).toBe(2);
    expect(w.counters.signalsSent).toBe(2);
  }, TEST_TIMEOUT_MS);

  test('deleting a NodeENI releases every pair and removes only our finalizer once they have all finished', async () => {
    const { scope: s, prefix } = scope();
    const sel = `${prefix}-pool`;
    const [n1, n2] = [`${prefix}-n1`, `${prefix}-n2`];
    const ne = `${prefix}-ne`;
    await createNode(n1, { [sel]: 'yes' }, 'i-0ccc000000000001');
    await createNode(n2, { [sel]: 'yes' }, 'i-0ccc000000000002');
    await createNodeENI(ne, s, { nodeSelector: { [sel]: 'yes' } }, [FOREIGN_FINALIZER]);
    const ids = [lifecycleWorkflowId(ne, n1), lifecycleWorkflowId(ne, n2)];
    watcher(s);
    await waitFor('pairs running', async () => (await Promise.all(ids.map(runStatus))).every((x) => x === 'RUNNING'));
    await waitFor('finalizer', async () => (await getNodeENI(ne))?.metadata.finalizers?.includes(NODEENI_FINALIZER));

    await custom.deleteClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, name: ne });
    // Both pairs are told to release; while they are still finishing, the finalizer holds.
    await waitFor('release delivered to both', async () => (await Promise.all(ids.map(recorded))).every((r) => r.releases.length === 1));
    const during = await getNodeENI(ne);
    const stillRunning = (await Promise.all(ids.map(runStatus))).filter((x) => x === 'RUNNING').length;
    expect(stillRunning).toBeGreaterThan(0);
    expect(during?.metadata.finalizers).toContain(NODEENI_FINALIZER);

    const after = await waitFor('our finalizer removed', async () => {
      const o = await getNodeENI(ne);
      return o && !o.metadata.finalizers?.includes(NODEENI_FINALIZER) ? o : undefined;
    });
    // Removed only after every workflow had finished; the other finalizer is untouched.
    for (const id of ids) {
      expect(await runStatus(id)).toBe('COMPLETED');
      expect((await recorded(id)).releases).toEqual([{ reason: `NodeENI ${ne} is being deleted` }]);
    }
    expect(after.metadata.finalizers).toEqual([FOREIGN_FINALIZER]);
    expect(condition(after, 'Ready')).toMatchObject({ status: 'False', reason: 'Deleting' });

    // Once the other owner lets go, the object is gone.
    await custom.patchClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, name: ne, body: { metadata: { finalizers: null } } }, mergePatch);
    await waitFor('NodeENI gone', async () => (await getNodeENI(ne)) === undefined);
  }, TEST_TIMEOUT_MS);

  test('a spec the CRD admits but the schema rejects is reported (Degraded, Warning once) and disturbs nothing', async () => {
    const { scope: s, prefix } = scope();
    const sel = `${prefix}-pool`;
    const n1 = `${prefix}-n1`;
    const ne = `${prefix}-ne`;
    await createNode(n1, { [sel]: 'yes' }, 'i-0ddd000000000001');
    await createNodeENI(ne, s, { nodeSelector: { [sel]: 'yes' } });
    const id = lifecycleWorkflowId(ne, n1);
    const w = watcher(s);
    await waitFor('pair running', async () => (await runStatus(id)) === 'RUNNING');

    // 200 emoji: 200 characters for the apiserver's maxLength (255), 400 UTF-16 units for the schema's limit.
    await patchSpec(ne, { description: '🛰'.repeat(200) });
    const degraded = await waitFor('Degraded InvalidSpec', async () => {
      const o = await getNodeENI(ne);
      const d = condition(o, 'Degraded');
      return d?.reason === 'InvalidSpec' && d.observedGeneration === 2 ? o : undefined;
    });
    expect(condition(degraded, 'Degraded')?.status).toBe('True');
    expect(condition(degraded, 'Degraded')?.message).toContain('spec.description');
    expect(condition(degraded, 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(degraded.status?.observedGeneration).toBe(2);

    const events = async () =>
      (await core.listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${ne},reason=InvalidSpec` })).items;
    const [warning] = await waitFor('InvalidSpec event', async () => ((await events()).length > 0 ? await events() : undefined));
    expect(warning).toMatchObject({
      type: 'Warning',
      reason: 'InvalidSpec',
      involvedObject: { apiVersion: 'networking.k8s.aws/v1alpha1', kind: 'NodeENI', name: ne, uid: degraded.metadata.uid },
      source: { component: 'multi-eni-controller' },
    });
    expect(warning!.message).toContain('spec.description');

    // Frozen: unlabelling the node releases nothing, and no spec goes out.
    await patchNodeLabels(n1, { [sel]: null });
    await sleep(3000); // a relist included
    expect(await runStatus(id)).toBe('RUNNING');
    expect(await recorded(id)).toMatchObject({ releases: [] });
    expect((await recorded(id)).specs).toHaveLength(1);
    expect(await events()).toHaveLength(1); // once per generation, not per reconcile
    expect(w.counters.releasesSent).toBe(0);

    // Fixed: the watcher acts again (here: the node no longer matches, so its pair is released).
    await patchSpec(ne, { description: 'fixed' });
    await waitFor('pair released after the fix', async () => (await recorded(id)).releases.length === 1);
    const fixed = await waitFor('Degraded cleared', async () => {
      const o = await getNodeENI(ne);
      return condition(o, 'Degraded')?.status === 'False' && o?.status?.observedGeneration === 3 ? o : undefined;
    });
    expect(condition(fixed, 'Degraded')?.reason).toBe('AsExpected');
  }, TEST_TIMEOUT_MS);

  test('recovers by itself when the apiserver connection breaks (informers restart with backoff)', async () => {
    const { scope: s, prefix } = scope();
    const sel = `${prefix}-pool`;
    const [n1, n2] = [`${prefix}-n1`, `${prefix}-n2`];
    const ne = `${prefix}-ne`;
    const proxy = new CuttableProxy(new URL(kc.getCurrentCluster()!.server));
    await proxy.open();
    const viaProxy = new KubeConfig();
    viaProxy.loadFromOptions({
      clusters: kc.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${proxy.port}` })),
      users: kc.users,
      contexts: kc.contexts,
      currentContext: kc.currentContext,
    });
    try {
      await createNode(n1, { [sel]: 'yes' }, 'i-0fff000000000001');
      await createNode(n2, {}, 'i-0fff000000000002');
      await createNodeENI(ne, s, { nodeSelector: { [sel]: 'yes' } });
      // No periodic relist during the test: only the informers' own restart can bring the news.
      const w = watcher(s, { kubeConfig: viaProxy, relistSeconds: 3600 });
      await waitFor('first pair running', async () => (await runStatus(lifecycleWorkflowId(ne, n1))) === 'RUNNING');

      const logsBefore = logs.length;
      await proxy.cut();
      await patchNodeLabels(n2, { [sel]: 'yes' }); // happens while the watcher is cut off
      await sleep(2500);
      expect(await runStatus(lifecycleWorkflowId(ne, n2))).toBeUndefined();
      expect(logs.slice(logsBefore).some((l) => l.includes('informer error') && l.includes('restarting in'))).toBe(true);

      await proxy.open(); // same port again
      await waitFor('second pair running after the connection came back', async () => (await runStatus(lifecycleWorkflowId(ne, n2))) === 'RUNNING', 45000);
      expect((await recorded(lifecycleWorkflowId(ne, n1))).specs).toHaveLength(1);
      expect(w.counters.reconcileErrors).toBe(0);
    } finally {
      await Promise.all(watchers.splice(0).map((h) => h.stop()));
      await proxy.cut();
    }
  }, TEST_TIMEOUT_MS);

  test('with two replicas only the Lease holder reconciles; when it stops, the other takes over', async () => {
    const { scope: s, prefix } = scope();
    const sel = `${prefix}-pool`;
    const n1 = `${prefix}-n1`;
    const ne = `${prefix}-ne`;
    const lease = { namespace: 'default', name: `${prefix}-lease`, leaseDurationSeconds: 15, renewIntervalSeconds: 5, retryIntervalSeconds: 1 };
    await createNode(n1, { [sel]: 'yes' }, 'i-0eee000000000001');
    await createNodeENI(ne, s, { nodeSelector: { [sel]: 'yes' } });
    const id = lifecycleWorkflowId(ne, n1);

    const a = watcher(s, { identity: `${prefix}-a`, leaderElection: lease });
    const b = watcher(s, { identity: `${prefix}-b`, leaderElection: lease });
    const leader = await waitFor('a leader', () => (a.isLeader() ? a : b.isLeader() ? b : undefined));
    const standby = leader === a ? b : a;
    await waitFor('pair running', async () => (await runStatus(id)) === 'RUNNING');
    await sleep(3000);
    expect(leader.isLeader() && !standby.isLeader()).toBe(true);
    expect(leader.counters.reconciles).toBeGreaterThan(0);
    expect(standby.counters.reconciles).toBe(0);
    const held = await coordination.readNamespacedLease({ namespace: lease.namespace, name: lease.name });
    expect(held.spec?.holderIdentity).toBe(leader.identity);

    const stoppedAt = Date.now();
    await stopWatcher(leader);
    await waitFor('the standby leads', () => standby.isLeader(), 20000);
    await waitFor('the new leader reconciled and re-sent the spec', () => standby.counters.signalsSent === 1, 20000);
    expect(Date.now() - stoppedAt).toBeLessThan(20000);
    expect((await recorded(id)).specs).toHaveLength(2);
    expect(await runCount(id)).toBe(1);
    const taken = await coordination.readNamespacedLease({ namespace: lease.namespace, name: lease.name });
    expect(taken.spec?.holderIdentity).toBe(standby.identity);
    expect(taken.spec?.leaseTransitions).toBe(1);
    await stopWatcher(standby);
    // Stopping gives the Lease up: no holder left behind.
    expect((await coordination.readNamespacedLease({ namespace: lease.namespace, name: lease.name })).spec?.holderIdentity).toBeFalsy();
    await coordination.deleteNamespacedLease({ namespace: lease.namespace, name: lease.name });
  }, TEST_TIMEOUT_MS);
  test('a leader that loses its Lease stops reconciling; the Lease is taken over only once it expired', async () => {
    const { scope: s, prefix } = scope();
    const sel = `${prefix}-pool`;
    const n1 = `${prefix}-n1`;
    const ne = `${prefix}-ne`;
    const lease = { namespace: 'default', name: `${prefix}-lease`, leaseDurationSeconds: 15, renewIntervalSeconds: 5, retryIntervalSeconds: 1 };
    await createNode(n1, { [sel]: 'yes' }, 'i-0eee000000000002');
    await createNodeENI(ne, s, { nodeSelector: { [sel]: 'yes' } });
    const a = watcher(s, { identity: `${prefix}-a`, leaderElection: lease });
    const b = watcher(s, { identity: `${prefix}-b`, leaderElection: lease });
    const leader = await waitFor('a leader', () => (a.isLeader() ? a : b.isLeader() ? b : undefined));
    await waitFor('pair running', async () => (await runStatus(lifecycleWorkflowId(ne, n1))) === 'RUNNING');

    // Another replica (one that then crashes) grabs the Lease: it never renews it again.
    const current = await coordination.readNamespacedLease({ namespace: lease.namespace, name: lease.name });
    const grabbedAt = Date.now();
    await coordination.replaceNamespacedLease({
      namespace: lease.namespace,
      name: lease.name,
      body: { ...current, spec: { ...current.spec, holderIdentity: `${prefix}-crashed`, renewTime: new V1MicroTime(grabbedAt) } },
    });
    await waitFor('the leader steps down', () => !leader.isLeader(), 10000);
    const before = new Map([a, b].map((h) => [h, h.counters.reconciles]));
    const reconciles = a.counters.reconciles + b.counters.reconciles;
    await sleep(4000); // two relist periods: a reconciling watcher would have run
    expect(a.isLeader() || b.isLeader()).toBe(false);
    expect(a.counters.reconciles + b.counters.reconciles).toBe(reconciles);

    const next = await waitFor('a replica takes the expired Lease', () => (a.isLeader() ? a : b.isLeader() ? b : undefined), 25000);
    const tookMs = Date.now() - grabbedAt;
    expect(tookMs).toBeGreaterThanOrEqual(14500); // not before the 15 s lease expired
    expect(tookMs).toBeLessThan(22000);
    await waitFor('the new leader reconciles', () => next.counters.reconciles > before.get(next)!, 10000);
    expect((await coordination.readNamespacedLease({ namespace: lease.namespace, name: lease.name })).spec?.holderIdentity).toBe(next.identity);
    await Promise.all(watchers.splice(0).map((h) => h.stop()));
    await coordination.deleteNamespacedLease({ namespace: lease.namespace, name: lease.name });
  }, TEST_TIMEOUT_MS);
});
