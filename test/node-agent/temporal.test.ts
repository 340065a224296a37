// Node agents as Temporal workers against the real local Temporal server: a workflow reaches the agent of
// one node through that node's task queue (`multi-eni-node/<node>`), and no other node's agent sees the work.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { nodeTaskQueue } from '../../common/names.js';
import { NODE_AGENT_ERRORS, type NodeAgentActivities } from '../../common/node-agent-contract.js';
import { createNodeAgentActivities } from '../../node-agent/activities.js';
import { readState } from '../../dev/stack/stack.js';
import { isUp, tempDir, TestNetns } from '../../dev/stack/sim/netns.js';
import type { agentConfigureFailure, agentRoundTrip } from './workflows/agent-test-workflow.js';

const suffix = randomBytes(3).toString('hex');
const NODE_A = `node-a-${suffix}`;
const NODE_B = `node-b-${suffix}`;
const MAC_A = '0e:30:00:00:00:0a';
const MAC_B = '0e:30:00:00:00:0b';
const workflowsPath = fileURLToPath(new URL('./workflows/agent-test-workflow.ts', import.meta.url));

type Calls = Record<keyof NodeAgentActivities, number>;

/** The agent's activities with a call counter in front, so the test can see which node did the work. */
function counted(activities: NodeAgentActivities): { activities: NodeAgentActivities; calls: Calls } {
  const calls: Calls = { configureInterface: 0, releaseInterface: 0 };
  return {
    calls,
    activities: {
      configureInterface: (input) => (calls.configureInterface++, activities.configureInterface(input)),
      releaseInterface: (input) => (calls.releaseInterface++, activities.releaseInterface(input)),
    },
  };
}

const nsA = new TestNetns();
const nsB = new TestNetns();
let dir: string;
let nativeConnection: NativeConnection;
let connection: Connection;
let client: Client;
let workers: Worker[] = [];
let running: Promise<unknown>;
let agentA: ReturnType<typeof counted>;
let agentB: ReturnType<typeof counted>;
const workflowQueue = `node-agent-test-${suffix}`;

function agentFor(node: string, ns: TestNetns) {
  const root = path.join(dir, node);
  fs.mkdirSync(path.join(root, 'sys'), { recursive: true });
  return counted(
    createNodeAgentActivities({
      nodeName: node,
      netns: ns.name,
      sysRoot: path.join(root, 'sys'),
      stateDir: path.join(root, 'state'),
      pcidpConfigPath: path.join(root, 'pcidp', 'config.json'),
      linkPollMs: 200,
      restartDevicePlugin: async () => undefined,
    }),
  );
}

beforeAll(async () => {
  const state = readState();
  if (!state) throw new Error('no local stack state: the integration global setup should have started the stack');
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // Already installed by another test file in this process: its logger stays.
  }
  await nsA.create();
  await nsB.create();
  await nsA.ip(['link', 'add', 'eth1', 'address', MAC_A, 'type', 'veth', 'peer', 'name', 'peer1']);
  await nsB.ip(['link', 'add', 'eth1', 'address', MAC_B, 'type', 'veth', 'peer', 'name', 'peer1']);
  dir = tempDir('mneni-temporal-');
  agentA = agentFor(NODE_A, nsA);
  agentB = agentFor(NODE_B, nsB);

  nativeConnection = await NativeConnection.connect({ address: state.temporal.address });
  connection = await Connection.connect({ address: state.temporal.address });
  client = new Client({ connection, namespace: state.temporal.namespace });
  const namespace = state.temporal.namespace;
  workers = [
    await Worker.create({ connection: nativeConnection, namespace, taskQueue: nodeTaskQueue(NODE_A), activities: agentA.activities }),
    await Worker.create({ connection: nativeConnection, namespace, taskQueue: nodeTaskQueue(NODE_B), activities: agentB.activities }),
    await Worker.create({ connection: nativeConnection, namespace, taskQueue: workflowQueue, workflowsPath }),
  ];
  running = Promise.all(workers.map((w) => w.run()));
});

afterAll(async () => {
  for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  await running;
  await connection?.close();
  await nativeConnection?.close();
  await nsA.destroy();
  await nsB.destroy();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const input = (mac: string) => ({ nodeENI: 'temporal-test', eniId: 'eni-0123456789abcdef0', macAddress: mac, deviceIndex: 1, mtu: 9001, linkWaitSeconds: 10 });

describe('node agent through Temporal', () => {
  test("a workflow configures and releases through node A's queue; node B's agent never sees it", async () => {
    const result = await client.workflow.execute<typeof agentRoundTrip>('agentRoundTrip', {
      taskQueue: workflowQueue,
      workflowId: `agent-roundtrip-a-${suffix}`,
      args: [NODE_A, input(MAC_A)],
    });
    expect(result.configured).toEqual({ interfaceName: 'eth1', mtu: 9001, state: 'up', dpdkBound: false, sriovConfigChanged: false });
    expect(result.repeated).toEqual(result.configured);
    expect(result.released).toEqual({ changed: true, interfaceName: 'eth1' });
    const link = await nsA.link('eth1');
    expect(link?.mtu).toBe(9001);
    expect(isUp(link)).toBe(false);
    expect(agentA.calls).toEqual({ configureInterface: 2, releaseInterface: 1 });
    expect(agentB.calls).toEqual({ configureInterface: 0, releaseInterface: 0 });
    // B's link is untouched.
    expect((await nsB.link('eth1'))?.mtu).toBe(1500);
  });

  test("node B's work goes to node B only", async () => {
    const result = await client.workflow.execute<typeof agentRoundTrip>('agentRoundTrip', {
      taskQueue: workflowQueue,
      workflowId: `agent-roundtrip-b-${suffix}`,
      args: [NODE_B, input(MAC_B)],
    });
    expect(result.configured).toMatchObject({ interfaceName: 'eth1', state: 'up' });
    expect(agentB.calls).toEqual({ configureInterface: 2, releaseInterface: 1 });
    expect(agentA.calls).toEqual({ configureInterface: 2, releaseInterface: 1 });
  });

  test('a non-retryable failure reaches the workflow after a single attempt, with its type and message', async () => {
    const before = agentA.calls.configureInterface;
    // MAC_B exists only in node B's namespace: node A's agent must not find it.
    const failure = await client.workflow.execute<typeof agentConfigureFailure>('agentConfigureFailure', {
      taskQueue: workflowQueue,
      workflowId: `agent-failure-${suffix}`,
      args: [NODE_A, { ...input(MAC_B), linkWaitSeconds: 1 }],
    });
    expect(failure).toEqual({
      type: NODE_AGENT_ERRORS.linkNotFound,
      nonRetryable: true,
      message: `macAddress: no link with MAC ${MAC_B} appeared within 1s on node ${NODE_A} (ENI eni-0123456789abcdef0)`,
    });
    expect(agentA.calls.configureInterface).toBe(before + 1);
  });
});
