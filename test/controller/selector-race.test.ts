// A controller scoped by NODEENI_SELECTOR (as every test cluster and every sharded install is) must release the
// pairs of a NodeENI that is gone, even one deleted before its finalizer went on, or whose pair was started from a
// stale cache: no ENI and no running lifecycle may outlive its NodeENI.
import { lifecycleWorkflowId } from '../../common/names.js';
import type { NodeENI } from '../../common/nodeeni.js';
import { TestCluster } from '../support/cluster.js';
import { eventually, stack, temporalClient } from '../support/env.js';
import { proxy } from '../support/proxy.js';

const ROUNDS = 40;

describe('create and delete at once, under a selector', () => {
  const c = new TestCluster();

  beforeAll(async () => {
    await proxy.reset();
    await c.addNodes(1);
    c.controller.start();
  }, 120000);
  afterAll(() => c.teardown(), 180000);

  it(`${ROUNDS} NodeENIs created and deleted at once leave no ENI and no running lifecycle`, async () => {
    const s = stack();
    const names = Array.from({ length: ROUNDS }, (_, i) => `race-${c.runId}-${i}`);
    const node = c.node(0).name;
    const manifest = (name: string): NodeENI => ({
      apiVersion: 'networking.k8s.aws/v1alpha1',
      kind: 'NodeENI',
      metadata: { name },
      spec: { nodeSelector: { ng: c.nodeGroup }, subnetID: s.seed.subnets[0]!.id, securityGroupIDs: [s.seed.securityGroups[0]!.id], deviceIndex: 1 + (names.indexOf(name) % 7) },
    });
    // The watcher sees some of them created, some created and deleted in one event batch, some never.
    for (const name of names) {
      await c.apply(manifest(name));
      await c.delete(name);
    }
    for (const name of names) await c.waitGone(name, 120000);

    const { client, connection } = await temporalClient();
    try {
      const running = await eventually(
        'no lifecycle of these NodeENIs running',
        async () => {
          const left: string[] = [];
          for await (const w of client.workflow.list({ query: `TaskQueue="${c.taskQueue}" AND ExecutionStatus="Running"` })) {
            if (names.some((n) => w.workflowId === lifecycleWorkflowId(n, node))) left.push(w.workflowId);
          }
          return left.length === 0 ? left : false;
        },
        180000,
        1000,
      );
      expect(running).toEqual([]);
    } finally {
      await connection.close();
    }
    const enis = await eventually('no ENI of this cluster left', async () => ((await c.enis()).length === 0 ? [] : false), 120000, 1000);
    expect(enis).toEqual([]);
  });
});
