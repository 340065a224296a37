// Failure drills against Temporal run as a cluster: PostgreSQL for both stores and the four services
// (frontend, history, matching, worker) as separate processes, as the Temporal chart runs them on EKS. The suite
// starts its own cluster (dev/stack/temporal-cluster.ts) on a port base of its own and runs the controller and the
// node agents against it; the shared stack gives the kube-apiserver and EC2 (moto behind the strict proxy). Search
// attributes are registered by the controller itself (no pre-registration), as on a user's cluster.
//   (a) kill -9 of the history service mid-converge, then started again on the same config and ports;
//   (b) PostgreSQL stopped for 30 s mid-converge (the figure: the wait is the drill), then started again;
//   (c) kill -9 of matching mid-converge while the node agents poll their task queues, then started again;
//   (d) bad configuration: /readyz names a namespace that does not exist, and a frontend that is not reachable;
//   (e) kill -9 of the history service mid-release (a detach carried out at EC2, its answer withheld);
//   (f) kill -9 of the frontend while the watcher starts the NodeENI's workflows (the starts fail, then succeed).
// Each ends as a user checks: one ENI per (NodeENI, node, subnet), attached once, the NodeENI Ready; after the
// NodeENI is deleted no ENI is left and no workflow of it is running.
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { isAlive, portFree, sleep } from '../../dev/stack/processes.js';
import {
  clusterPortList,
  clusterPorts,
  startClusterComponent,
  startTemporalCluster,
  stopClusterComponent,
  stopTemporalCluster,
  type ClusterComponent,
  type ClusterLayout,
} from '../../dev/stack/temporal-cluster.js';
import { stackPorts } from '../../dev/stack/paths.js';
import { TestCluster } from '../support/cluster.js';
import { callsSince, enisOf, expectOneEniPerSubnet, holdACreate, nodeENI, secondaryEnis, waitHeld } from '../support/crash.js';
import { eventually, freePortPair, stack, uniq } from '../support/env.js';
import { hold, proxy } from '../support/proxy.js';

// An activity whose completion was lost with a service is retried after its timeout (heartbeat 1 min, EC2 calls 30 s).
const AFTER_DRILL_MS = 180_000;
const PG_DOWN_MS = 30_000;

// Its own port base, clear of the shared stack's (base … base + 80) and of another stack at base + 1000.
const BASE = stackPorts().temporal - 33 + 500;
const layout = (): ClusterLayout => ({ dir: path.join(stack().dir, 'temporal-cluster-drills'), ports: clusterPorts(BASE) });

const pids: Record<string, number> = {};
let c: TestCluster | undefined;
let client: Client | undefined;
let connection: Connection | undefined;
let current: string | undefined;

const subnets = () => [stack().seed.subnets[0]!.id, stack().seed.subnets[1]!.id];

async function kill9(name: ClusterComponent): Promise<void> {
  const pid = pids[name]!;
  process.kill(pid, 'SIGKILL');
  await eventually(`${name} (pid ${pid}) gone`, async () => !isAlive(pid), 10000, 20);
}

/** Starts a cluster process again as the first start did (same config file, ports, data dir). */
async function restart(name: ClusterComponent): Promise<void> {
  const s = startClusterComponent(name, layout());
  pids[name] = s.p.pid;
  await s.wait();
}

async function ensureRunning(name: ClusterComponent): Promise<void> {
  const pid = pids[name];
  if (pid === undefined || !isAlive(pid)) await restart(name);
}

/** Workflows of the NodeENI still running, by its search attribute (SQL visibility). */
async function runningWorkflows(name: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const w of client!.workflow.list({ query: `NodeENI = "${name}" AND ExecutionStatus = "Running"` })) ids.push(w.workflowId);
  return ids;
}

/** The user's check after the drill, then the release: nothing leaked, nothing left running. */
async function expectConvergedThenReleased(cl: TestCluster, name: string, heldEniId?: string): Promise<void> {
  const obj = await cl.waitReady(name, 4, AFTER_DRILL_MS);
  const enis = await expectOneEniPerSubnet(cl, obj, subnets());
  if (heldEniId) expect([...enis.values()].map((e) => e.NetworkInterfaceId)).toContain(heldEniId);
  // Attached once: each node carries exactly its two (one per subnet) at the device index the spec asks for.
  for (const n of cl.nodes) {
    const attached = await secondaryEnis(cl, n.instanceId);
    expect(attached).toHaveLength(2);
    expect(new Set(attached.map((e) => e.SubnetId))).toEqual(new Set(subnets()));
  }
  expect(await enisOf(cl, name)).toHaveLength(4);

  await cl.delete(name);
  await expectReleased(cl, name);
}

/** After the NodeENI's delete: it is gone, no ENI of it is left in EC2 or on a node, no workflow of it runs. */
async function expectReleased(cl: TestCluster, name: string): Promise<void> {
  await cl.waitGone(name, AFTER_DRILL_MS);
  expect(await enisOf(cl, name)).toEqual([]);
  for (const n of cl.nodes) expect(await secondaryEnis(cl, n.instanceId)).toEqual([]);
  await eventually(`no workflow of ${name} running`, async () => (await runningWorkflows(name)).length === 0 || false, 60000, 500);
}

/** Applies a NodeENI and waits until EC2 made one of its ENIs whose answer the proxy holds: the converge is under way. */
async function applyAndHoldACreate(cl: TestCluster, name: string): Promise<string> {
  return (await holdACreate(cl, name, () => cl.apply(nodeENI(cl, name, subnets())))).eniId;
}

beforeAll(async () => {
  const l = layout();
  for (const port of clusterPortList(l.ports)) {
    if (!(await portFree(port))) throw new Error(`port ${port} of the drills' Temporal cluster is in use on 127.0.0.1`);
  }
  fs.rmSync(l.dir, { recursive: true, force: true });
  const t0 = Date.now();
  const started = await startTemporalCluster(l, { progress: (line) => process.stderr.write(`[temporal-cluster] ${line}\n`) });
  for (const p of started) pids[p.name] = p.pid;
  process.stderr.write(`[temporal-cluster] started in ${((Date.now() - t0) / 1000).toFixed(1)}s\n`);

  const temporal = { address: `127.0.0.1:${l.ports.frontend.grpc}`, namespace: 'default' };
  connection = await Connection.connect({ address: temporal.address });
  client = new Client({ connection, namespace: temporal.namespace });
  await proxy.reset();
  c = new TestCluster({}, temporal);
  await c.addNodes(2, { 'crash-test': c.runId });
  c.controller.start();
}, 300000);

afterEach(async () => {
  await hold.release();
  await ensureRunning('postgres');
  await ensureRunning('temporal-history');
  await ensureRunning('temporal-frontend');
  await ensureRunning('temporal-matching');
  if (current && c) {
    await c.delete(current).catch(() => undefined);
    await c.waitGone(current, AFTER_DRILL_MS).catch(() => undefined);
  }
  current = undefined;
}, AFTER_DRILL_MS + 60000);

afterAll(async () => {
  await hold.release().catch(() => undefined);
  await c?.teardown();
  await proxy.reset().catch(() => undefined);
  await connection?.close();
  await stopTemporalCluster(pids);
}, 300000);

describe('Temporal as a cluster (PostgreSQL, four services): failure drills', () => {
  it('the controller registered its own search attributes on SQL visibility', async () => {
    // Its /readyz gate passes only once the attributes are there; the list query of a NodeENI attribute must work.
    const want = ['NodeENI', 'NodeName', 'InstanceId', 'EniIds', 'EniPhase'];
    const seen = await eventually('the controller registered its search attributes', async () => {
      const r = await connection!.operatorService.listSearchAttributes({ namespace: 'default' });
      const have = Object.keys(r.customAttributes ?? {});
      return want.every((k) => have.includes(k)) && have;
    }, 60000);
    expect(seen).toEqual(expect.arrayContaining(want));
    expect(await runningWorkflows(uniq('none'))).toEqual([]);
  }, 120000);

  it('(a) kill -9 of history mid-converge, started again: one ENI per node and subnet, attached once, Ready; nothing leaks', async () => {
    const cl = c!;
    const name = (current = uniq('cluster-history'));
    const heldEniId = await applyAndHoldACreate(cl, name);
    const t = Date.now();
    await kill9('temporal-history');
    await hold.release(); // the create's answer reaches a worker whose history service is gone
    await restart('temporal-history');
    process.stderr.write(`[drill a] history back in ${((Date.now() - t) / 1000).toFixed(1)}s\n`);
    await expectConvergedThenReleased(cl, name, heldEniId);
  }, 600000);

  it('(c) kill -9 of matching mid-converge while the node agents poll, started again: converges, Ready; nothing leaks', async () => {
    const cl = c!;
    const name = (current = uniq('cluster-matching'));
    const heldEniId = await applyAndHoldACreate(cl, name);
    await kill9('temporal-matching');
    await hold.release(); // the next tasks (the attach, the node agents' link configuration) need matching
    await restart('temporal-matching');
    // Ready means each node's agent reported its link configured: its poll came back after the restart.
    await expectConvergedThenReleased(cl, name, heldEniId);
  }, 600000);

  it('(b) PostgreSQL stopped for 30 s mid-converge, started again: one ENI per node and subnet, attached once, Ready; nothing leaks', async () => {
    const cl = c!;
    const name = (current = uniq('cluster-postgres'));
    const heldEniId = await applyAndHoldACreate(cl, name);
    await stopClusterComponent('postgres', pids.postgres!);
    expect(isAlive(pids.postgres!)).toBe(false);
    await hold.release(); // the answer comes back while the database is down
    await sleep(PG_DOWN_MS); // the outage itself (the drill's content), not a wait for something to happen
    await restart('postgres');
    await expectConvergedThenReleased(cl, name, heldEniId);
    // The services rode it out: none exited while their database was away.
    for (const s of ['temporal-frontend', 'temporal-history', 'temporal-matching', 'temporal-worker'] as const) expect(isAlive(pids[s]!)).toBe(true);
  }, 600000);

  it('(e) kill -9 of history mid-release (a detach carried out, its answer withheld), started again: each ENI deleted once, none left', async () => {
    const cl = c!;
    const name = (current = uniq('cluster-history-release'));
    await cl.apply(nodeENI(cl, name, subnets()));
    await cl.waitReady(name, 4, AFTER_DRILL_MS);
    const enis = await enisOf(cl, name);
    expect(enis).toHaveLength(4);
    const attachmentIds = new Set(enis.map((e) => e.Attachment?.AttachmentId));
    const mark = (await proxy.calls()).total;
    await hold.set('DetachNetworkInterface', 1);
    await cl.delete(name);
    // The release is under way: EC2 detached one of this NodeENI's ENIs, the worker has not heard so yet.
    await waitHeld('DetachNetworkInterface', async (h) => attachmentIds.has(h.params.AttachmentId) || `attachment ${h.params.AttachmentId} is another test's`);
    await kill9('temporal-history');
    await hold.release(); // the detach's answer reaches a worker whose history service is gone
    await restart('temporal-history');
    await expectReleased(cl, name);
    // Deleted once each: a retried delete of an ENI already gone is a no-op, never a second ENI's delete.
    const ids = enis.map((e) => e.NetworkInterfaceId!);
    const deletes = (await callsSince(mark)).filter((r) => r.action === 'DeleteNetworkInterface' && r.outcome === 'ok' && ids.includes(r.params.NetworkInterfaceId!));
    expect(deletes.map((r) => r.params.NetworkInterfaceId).sort()).toEqual(ids.sort());
  }, 600000);

  it('(f) kill -9 of the frontend while the watcher starts the workflows, started again: the starts retried, converges, Ready; nothing leaks', async () => {
    const cl = c!;
    const name = (current = uniq('cluster-frontend'));
    const logFrom = fs.statSync(cl.controller.log).size;
    await kill9('temporal-frontend');
    await cl.apply(nodeENI(cl, name, subnets()));
    // The watcher saw the NodeENI (the apiserver is up) and its signal-with-start of a pair failed.
    const failed = await eventually('a failed start of one of the NodeENI\'s workflows in the controller log', async () => {
      const log = fs.readFileSync(cl.controller.log).subarray(logFrom).toString('utf8');
      return log.split('\n').find((l) => l.includes(`spec signal to nodeeni/${name}/`) && l.includes('failed')) ?? false;
    }, 60000, 200);
    expect(failed).toContain(`nodeeni/${name}/`);
    await restart('temporal-frontend');
    await expectConvergedThenReleased(cl, name);
  }, 600000);

  it('(d) bad configuration: /readyz names a namespace that does not exist, and an unreachable frontend, until it is back', async () => {
    const l = layout();
    const readyz = async (port: number) => {
      const r = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) });
      return { status: r.status, body: await r.text() };
    };
    // A namespace nobody made: alive, not ready, and the answer says which namespace.
    const missing = uniq('no-such-namespace');
    const portA = await freePortPair();
    const a = new TestCluster({ METRICS_PORT: String(portA) }, { address: `127.0.0.1:${l.ports.frontend.grpc}`, namespace: missing });
    // An unreachable frontend: it is down when this controller starts; ready once it is back.
    const portB = await freePortPair();
    const b = new TestCluster({ METRICS_PORT: String(portB) }, { address: `127.0.0.1:${l.ports.frontend.grpc}`, namespace: 'default' });
    try {
      a.controller.start();
      const r = await eventually('/readyz 503 naming the missing namespace', async () => {
        const x = await readyz(portA).catch(() => undefined);
        return x?.status === 503 && x.body.includes(`namespace ${missing}`) ? x : false;
      }, 60000);
      expect(r.body).toMatch(/^not ready: /);
      expect(r.body).toContain(`127.0.0.1:${l.ports.frontend.grpc}`);

      await kill9('temporal-frontend');
      b.controller.start();
      const down = await eventually('/readyz 503 naming the unreachable frontend', async () => {
        const x = await readyz(portB).catch(() => undefined);
        return x?.status === 503 && x.body.includes(`Temporal at 127.0.0.1:${l.ports.frontend.grpc} not usable yet`) ? x : false;
      }, 60000);
      expect(down.body).toMatch(/^not ready: /);
      await restart('temporal-frontend');
      await eventually('/readyz 200 once the frontend is back', async () => (await readyz(portB).catch(() => undefined))?.status === 200, 120000, 500);
      // The namespace is still missing for the first: still not ready, for the same reason.
      expect((await readyz(portA)).status).toBe(503);
    } finally {
      await ensureRunning('temporal-frontend');
      await a.teardown();
      await b.teardown();
    }
  }, 300000);
});
