// Every node holds a Temporal credential, so a compromised node can start a lifecycle itself, naming any node and
// any instance. The controller acts only on an instance it can derive from a Node object of this cluster: the
// named Node must exist and its spec.providerID must name the instance. Otherwise nothing is created or attached,
// and the pair says why.
import type { Client } from '@temporalio/client';
import { clusterForSuite } from '../support/cluster.js';
import { eventually, stack, temporalClient, uniq } from '../support/env.js';
import { WORKFLOW_TYPE_LIFECYCLE } from '../../common/names.js';
import { parseSpec } from '../../common/nodeeni.js';
import type { DesiredPair, PairState } from '../../common/lifecycle-contract.js';
import { stateQuery } from '../../workflows/pair-signals.js';

describe("only instances of this cluster's Nodes", () => {
  const c = clusterForSuite(2);
  let client: Client;
  let close: () => Promise<void>;
  const started: string[] = [];

  beforeAll(async () => {
    const t = await temporalClient();
    client = t.client;
    close = () => t.connection.close();
  });
  afterAll(async () => {
    for (const id of started) await client.workflow.getHandle(id).terminate('test over').catch(() => undefined);
    await close?.();
  });

  /** What a node holding the credential could send: a lifecycle on the controller's queue, outside the watcher. */
  async function forge(nodeName: string, instanceId: string): Promise<{ id: string; nodeENI: string }> {
    const nodeENI = uniq('forged');
    const parsed = parseSpec({ nodeSelector: { ng: c.nodeGroup }, subnetID: stack().seed.subnets[0]!.id, securityGroupIDs: [stack().seed.securityGroups[0]!.id], deviceIndex: 2 });
    if (!parsed.ok) throw new Error(parsed.error);
    const desired: DesiredPair = {
      nodeENI,
      nodeName,
      uid: 'forged',
      generation: 1,
      instanceId,
      spec: parsed.spec,
    };
    const id = uniq('forged-pair');
    started.push(id);
    await client.workflow.start(WORKFLOW_TYPE_LIFECYCLE, { taskQueue: c.taskQueue, workflowId: id, args: [{ desired }] });
    return { id, nodeENI };
  }

  const failedWith = (id: string) =>
    eventually(`${id}: the pair Failed`, async () => {
      const s = (await client.workflow.getHandle(id).query(stateQuery)) as PairState;
      return s.phase === 'Failed' && s.lastError ? s : false;
    });

  it("a node naming another node's instance: nothing is created or attached, the pair names node and instance", async () => {
    const [me, other] = [c.node(0), c.node(1)];
    const { id, nodeENI } = await forge(me.name, other.instanceId);
    const s = await failedWith(id);
    expect(s.lastError).toContain(`instance ${other.instanceId} is not node ${me.name}'s (its spec.providerID is 'aws:///us-east-1a/${me.instanceId}')`);
    expect(await c.enis([{ Name: 'tag:NodeENI', Values: [nodeENI] }])).toEqual([]);
    expect(await c.enis([{ Name: 'attachment.instance-id', Values: [other.instanceId] }])).toEqual([]);
  }, 120000);

  it('a node name the cluster does not have: nothing is put on the instance', async () => {
    const other = c.node(1);
    const { id, nodeENI } = await forge('no-such-node', other.instanceId);
    const s = await failedWith(id);
    expect(s.lastError).toContain(`node no-such-node is not a Node of this cluster: nothing is put on instance ${other.instanceId}`);
    expect(await c.enis([{ Name: 'tag:NodeENI', Values: [nodeENI] }])).toEqual([]);
    expect(await c.enis([{ Name: 'attachment.instance-id', Values: [other.instanceId] }])).toEqual([]);
  }, 120000);

  it("the node's own instance, started the same way, converges (the check refuses only what it should)", async () => {
    const me = c.node(0);
    const { id, nodeENI } = await forge(me.name, me.instanceId);
    const s = await eventually(`${id}: Ready`, async () => {
      const q = (await client.workflow.getHandle(id).query(stateQuery)) as PairState;
      return q.phase === 'Ready' ? q : false;
    }, 90000);
    const enis = await c.enis([{ Name: 'tag:NodeENI', Values: [nodeENI] }]);
    expect(enis.map((e) => [e.NetworkInterfaceId, e.Attachment?.InstanceId])).toEqual([[s.enis[0]!.eniId, me.instanceId]]);
    // Released by the signal the watcher would send, so nothing is left behind.
    await client.workflow.getHandle(id).signal('release', { reason: 'test over' });
    await eventually(`${nodeENI}: ENI deleted`, async () => (await c.enis([{ Name: 'tag:NodeENI', Values: [nodeENI] }])).length === 0, 90000);
  }, 180000);
});
