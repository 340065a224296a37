// The node agent as the DaemonSet runs it: the compiled workers/node-agent.ts in its own process, configured
// from the environment, against the local stack's Temporal and kube-apiserver, with IMDSv2 served locally.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { readState, type StackState } from '../../dev/stack/stack.js';
import { FakeKernel } from '../../dev/stack/sim/fake-kernel.js';
import { startFakeImds, type FakeImds } from './support/fake-imds.js';
import { isUp, tempDir, TestNetns } from '../../dev/stack/sim/netns.js';
import type { agentRoundTrip } from './workflows/agent-test-workflow.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const suffix = randomBytes(3).toString('hex');
const NODE = `agent-proc-${suffix}`;
const NAMESPACE = `mneni-dp-${suffix}`;
const DEVICE = { pci: '0000:00:07.0', mac: '0e:40:00:00:00:07', ifname: 'ens7', kernelDriver: 'ena' };
const ENI = 'eni-0400000000000000a';
const workflowsPath = fileURLToPath(new URL('./workflows/agent-test-workflow.ts', import.meta.url));
const workflowQueue = `node-agent-proc-test-${suffix}`;

let state: StackState;
let outDir: string;
let dir: string;
let ns: TestNetns;
let imds: FakeImds;
let core: CoreV1Api;
let nativeConnection: NativeConnection;
let connection: Connection;
let client: Client;
let workflowWorker: Worker;
let workflowRun: Promise<void>;

function exec(cmd: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => execFile(cmd, args, { cwd }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} failed:\n${stdout}${stderr}`)) : resolve())));
}

interface Agent {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startAgent(env: Record<string, string>): Agent {
  const child = spawn(process.execPath, [path.join(outDir, 'workers', 'node-agent.js')], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Kept apart so that lines from the two streams never interleave mid-line.
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => `${out}\n${err}`, exited };
}

async function waitFor(what: string, check: () => boolean, timeoutMs: number, agent?: Agent): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${agent ? `; agent output:\n${agent.output()}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A loopback port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function get(port: number, p: string): Promise<{ status: number; body: string }> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}${p}`, { signal: AbortSignal.timeout(2000) });
    return { status: r.status, body: await r.text() };
  } catch (err) {
    return { status: 0, body: String(err) };
  }
}

/** Polls an endpoint until `ok` holds for its answer; the last answer in the error otherwise. */
async function waitHttp(port: number, p: string, ok: (r: { status: number; body: string }) => boolean, timeoutMs: number, agent: Agent): Promise<{ status: number; body: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await get(port, p);
    if (ok(r)) return r;
    if (Date.now() > deadline) throw new Error(`timed out waiting on ${p}; last answer ${r.status} ${r.body}; agent output:\n${agent.output()}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

function pod(name: string, app: string, nodeName: string): V1Pod {
  return {
    metadata: { name, namespace: NAMESPACE, labels: { app } },
    spec: { nodeName, containers: [{ name: 'plugin', image: 'registry.invalid/sriov-network-device-plugin:test' }] },
  };
}

async function podState(name: string): Promise<'running' | 'terminating' | 'gone'> {
  try {
    const p = await core.readNamespacedPod({ name, namespace: NAMESPACE });
    return p.metadata?.deletionTimestamp ? 'terminating' : 'running';
  } catch (err) {
    if ((err as { code?: number }).code === 404) return 'gone';
    throw err;
  }
}

beforeAll(async () => {
  const s = readState();
  if (!s) throw new Error('no local stack state: the integration global setup should have started the stack');
  state = s;
  // Compile only the agent's import graph; node_modules/.cache keeps package resolution working.
  outDir = path.join(REPO, 'node_modules', '.cache', `multi-eni-node-agent-test-${suffix}`);
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(
    path.join(outDir, 'tsconfig.json'),
    JSON.stringify({
      extends: path.join(REPO, 'tsconfig.json'),
      compilerOptions: { outDir, rootDir: REPO, noEmit: false, sourceMap: false, incremental: false, types: ['node'] },
      include: [],
      files: [path.join(REPO, 'workers', 'node-agent.ts')],
    }),
  );
  fs.writeFileSync(path.join(outDir, 'package.json'), '{"type":"module"}\n');
  await exec(process.execPath, [path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(outDir, 'tsconfig.json')], REPO);

  ns = new TestNetns();
  await ns.create();
  dir = tempDir('mneni-proc-');
  const kernel = new FakeKernel(path.join(dir, 'sys'), ns, [DEVICE], ['ena', 'vfio-pci']);
  await kernel.plugAll();
  imds = await startFakeImds({ [`/latest/meta-data/network/interfaces/macs/${DEVICE.mac}/interface-id`]: ENI });

  const kc = new KubeConfig();
  kc.loadFromFile(state.kube.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
  await core.createNamespacedServiceAccount({ namespace: NAMESPACE, body: { metadata: { name: 'default' } } });
  for (const p of [pod('sriovdp-here', 'sriovdp', NODE), pod('sriovdp-elsewhere', 'sriovdp', `other-${suffix}`), pod('unrelated-here', 'other', NODE)]) {
    await core.createNamespacedPod({ namespace: NAMESPACE, body: p });
  }

  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // Already installed by another test file in this process.
  }
  nativeConnection = await NativeConnection.connect({ address: state.temporal.address });
  connection = await Connection.connect({ address: state.temporal.address });
  client = new Client({ connection, namespace: state.temporal.namespace });
  workflowWorker = await Worker.create({ connection: nativeConnection, namespace: state.temporal.namespace, taskQueue: workflowQueue, workflowsPath });
  workflowRun = workflowWorker.run();
}, 180_000);

afterAll(async () => {
  if (workflowWorker?.getState() === 'RUNNING') workflowWorker.shutdown();
  await workflowRun;
  await connection?.close();
  await nativeConnection?.close();
  await imds?.close();
  if (core) {
    // No kubelet or namespace controller in the stack: force the pods out and finalize the namespace ourselves.
    const pods = await core.listNamespacedPod({ namespace: NAMESPACE });
    for (const p of pods.items) await core.deleteNamespacedPod({ name: p.metadata!.name!, namespace: NAMESPACE, gracePeriodSeconds: 0 }).catch(() => undefined);
    await core.deleteNamespace({ name: NAMESPACE }).catch(() => undefined);
    await core.replaceNamespaceFinalize({ name: NAMESPACE, body: { metadata: { name: NAMESPACE }, spec: { finalizers: [] } } }).catch(() => undefined);
  }
  await ns?.destroy();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
});

describe('node agent worker process', () => {
  test('bad configuration exits with a message naming the variable', async () => {
    const bad = startAgent({ NODE_NAME: 'Not_A_Node', IMDS_ENDPOINT: '169.254.169.254' });
    expect(await bad.exited).toBe(1);
    expect(bad.output()).toMatch(/invalid configuration: NODE_NAME: must be a Kubernetes node name.*; IMDS_ENDPOINT: must be an http\(s\):\/\/host\[:port\] URL, or off/);
    const missing = startAgent({});
    expect(await missing.exited).toBe(1);
    expect(missing.output()).toMatch(/NODE_NAME: is required/);
  });

  test('Temporal unreachable: alive (/healthz) but not ready (/readyz says why), retrying; SIGTERM still ends it', async () => {
    const port = await freePort();
    const closed = await freePort();
    const agent = startAgent({ NODE_NAME: NODE, TEMPORAL_ADDRESS: `127.0.0.1:${closed}`, KUBECONFIG: state.kube.kubeconfig, IMDS_ENDPOINT: 'off', METRICS_PORT: String(port) });
    try {
      const ready = await waitHttp(port, '/readyz', (r) => r.status !== 0, 30_000, agent);
      expect(ready.status).toBe(503);
      expect(ready.body).toMatch(/^not ready: /);
      expect(ready.body).toContain(`temporal: `);
      expect(ready.body).toContain(`127.0.0.1:${closed}`);
      expect(ready.body).toContain('worker: not started');
      expect(await get(port, '/healthz')).toEqual({ status: 200, body: 'ok' });
      expect((await get(port, '/metrics')).body).toContain('multi_eni_node_agent_last_hardware_poll_timestamp_seconds 0');
      await waitFor('a retry to be logged', () => agent.output().includes('Temporal not reachable yet'), 30_000, agent);
      expect(agent.child.exitCode).toBeNull();
    } finally {
      agent.child.kill('SIGTERM');
    }
    expect(await agent.exited).toBe(0);
  });

  test("serves its node's queue: configure and release, the device plugin restarted on this node only, graceful SIGTERM", async () => {
    const pcidp = path.join(dir, 'etc', 'pcidp', 'config.json');
    const port = await freePort();
    const agent = startAgent({
      METRICS_PORT: String(port),
      NODE_NAME: NODE,
      TEMPORAL_ADDRESS: state.temporal.address,
      TEMPORAL_NAMESPACE: state.temporal.namespace,
      KUBECONFIG: state.kube.kubeconfig,
      HOST_SYS: path.join(dir, 'sys'),
      PCIDP_CONFIG: pcidp,
      NODE_AGENT_STATE_DIR: path.join(dir, 'state'),
      NODE_AGENT_NETNS: ns.name,
      IMDS_ENDPOINT: imds.url,
      DEVICE_PLUGIN_NAMESPACE: NAMESPACE,
      DEVICE_PLUGIN_SELECTOR: 'app=sriovdp',
    });
    try {
      await waitFor('the agent to start', () => agent.output().includes('node agent started'), 30_000, agent);
      expect(agent.output()).toContain(`"taskQueue":"multi-eni-node/${NODE}"`);
      // Ready once its worker polls the node's queue.
      await waitHttp(port, '/readyz', (r) => r.status === 200, 30_000, agent);
      expect(await get(port, '/healthz')).toEqual({ status: 200, body: 'ok' });
      const before = Date.now() / 1000;

      const result = await client.workflow.execute<typeof agentRoundTrip>('agentRoundTrip', {
        taskQueue: workflowQueue,
        workflowId: `agent-proc-${suffix}`,
        args: [NODE, { nodeENI: 'user-plane-sriov-eni', eniId: ENI, macAddress: DEVICE.mac, deviceIndex: 3, mtu: 9001, resourceName: 'intel.com/sriov_kernel' }],
      });
      expect(result.configured).toEqual({ interfaceName: 'ens7', pciAddress: '0000:00:07.0', mtu: 9001, state: 'up', dpdkBound: false, sriovConfigChanged: true });
      expect(result.repeated).toMatchObject({ sriovConfigChanged: false });
      expect(result.released).toEqual({ changed: true, interfaceName: 'ens7' });

      // The change restarted the plugin pod on this node, and no other pod.
      expect(['terminating', 'gone']).toContain(await podState('sriovdp-here'));
      expect(await podState('sriovdp-elsewhere')).toBe('running');
      expect(await podState('unrelated-here')).toBe('running');
      expect(JSON.parse(fs.readFileSync(pcidp, 'utf8'))).toEqual({ resourceList: [] });
      const link = await ns.link('ens7');
      expect(link?.mtu).toBe(9001);
      expect(isUp(link)).toBe(false);
      // IMDSv2 was asked which ENI the MAC belongs to, always with a token.
      expect(imds.seen.some((r) => r.url.endsWith(`/macs/${DEVICE.mac}/interface-id`) && r.token)).toBe(true);
      expect(imds.seen.filter((r) => r.method === 'GET' && !r.token)).toEqual([]);
      // Logs name the ENI, the link and the action.
      const out = agent.output();
      const lines = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      for (const action of ['find', 'mtu', 'up', 'down']) {
        expect(lines).toContainEqual(expect.objectContaining({ component: 'node-agent', eniId: ENI, interfaceName: 'ens7', action, node: NODE, workflowId: `agent-proc-${suffix}` }));
      }
      // Every line is the one logger's: JSON with time, level, component and node (the SDK's own lines included).
      const all = out.split('\n').filter((l) => l.trim() !== '');
      expect(all.filter((l) => !l.startsWith('{'))).toEqual([]);
      for (const l of lines) expect(l).toMatchObject({ time: expect.any(String), level: expect.stringMatching(/^(trace|debug|info|warn|error|fatal)$/), component: 'node-agent', node: NODE });
      expect(lines.some((l) => l.activityType === 'configureInterface')).toBe(true);
      expect(lines).toContainEqual(expect.objectContaining({ message: 'restarted SR-IOV device plugin pod', pod: 'sriovdp-here', namespace: NAMESPACE }));
      // Its metrics: two configures (the second a no-op repeat) and one release, all ok; the links were just listed.
      const m = (await get(port, '/metrics')).body;
      expect(m).toContain('multi_eni_node_agent_operations_total{operation="configure",outcome="ok"} 2');
      expect(m).toContain('multi_eni_node_agent_operations_total{operation="release",outcome="ok"} 1');
      expect(m).toContain('multi_eni_node_agent_operation_seconds_count{operation="release"} 1');
      const polled = Number(/^multi_eni_node_agent_last_hardware_poll_timestamp_seconds (\S+)$/m.exec(m)?.[1]);
      expect(polled).toBeGreaterThanOrEqual(before);
      expect(polled).toBeLessThanOrEqual(Date.now() / 1000);
      expect(m).toContain('multi_eni_node_agent_process_resident_memory_bytes');
    } finally {
      agent.child.kill('SIGTERM');
    }
    expect(await agent.exited).toBe(0);
    expect(agent.output()).toContain('node agent stopped');
  });
});
