// A controller scoped by NODEENI_SELECTOR (as every test cluster and every sharded install is) must release the
// pairs of a NodeENI that is gone, even one deleted before its finalizer went on, or whose pair was started from a
// stale cache: no ENI and no running lifecycle may outlive its NodeENI.
import { TAG_NODEENI, lifecycleWorkflowId } from '../../common/names.js';
import type { NodeENI } from '../../common/nodeeni.js';
import { clusterForSuite } from '../support/cluster.js';
import { eventually, stack, temporalClient } from '../support/env.js';

const ROUNDS = 40;

describe('create and delete at once, under a selector', () => {
  const c = clusterForSuite(1);

  it(`${ROUNDS} NodeENIs created and deleted at once leave no ENI and no running lifecycle`, async () => {
    const s = stack();
    const names = Array.from({ length: ROUNDS }, (_, i) => `race-${c.runId}-${i}`);
    const node = c.node(0).name;
    const manifest = (name: string, i: number): NodeENI => ({
      apiVersion: 'networking.k8s.aws/v1alpha1',
      kind: 'NodeENI',
      metadata: { name },
      spec: { nodeSelector: { ng: c.nodeGroup }, subnetID: s.seed.subnets[0]!.id, securityGroupIDs: [s.seed.securityGroups[0]!.id], deviceIndex: 1 + (i % 7) },
    });
    // The pipeline is up (a NodeENI goes Ready) before the race starts.
    await c.apply(manifest(`warmup-${c.runId}`, 0));
    await c.waitReady(`warmup-${c.runId}`, 1, 120000);
    // Each NodeENI lives from 0 to 390 ms: the watcher sees some created and deleted in one event batch, starts
    // pairs for some from a cache that still shows them after the apiserver has deleted them, and puts its
    // finalizer on others in time.
    for (const [i, name] of names.entries()) {
      await c.apply(manifest(name, i));
      await new Promise((r) => setTimeout(r, (i * 10) % 400));
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
      // The race was run: pairs were started for some of the NodeENIs.
      const started = new Set<string>();
      for await (const w of client.workflow.list({ query: `TaskQueue="${c.taskQueue}"` })) {
        const n = names.find((x) => w.workflowId === lifecycleWorkflowId(x, node));
        if (n) started.add(n);
      }
      expect(started.size).toBeGreaterThan(0);
    } finally {
      await connection.close();
    }
    // Only the warm-up NodeENI's ENI is left.
    const tagged = (e: { TagSet?: { Key?: string; Value?: string }[] }) => e.TagSet?.find((t) => t.Key === TAG_NODEENI)?.Value;
    const enis = await eventually('no ENI of the deleted NodeENIs left', async () => {
      const left = (await c.enis()).map(tagged).filter((v) => v !== `warmup-${c.runId}`);
      return left.length === 0 ? left : false;
    }, 120000, 1000);
    expect(enis).toEqual([]);
  });
});
