// The lifecycle a user drives with labels and deletes: two labelled nodes get two attachments; unlabelling
// one releases only its ENI; deleting the NodeENI releases all and lifts the finalizer; deleting a Node
// releases its ENIs.
import { TestCluster } from '../support/cluster.js';
import { eventually, temporalClient } from '../support/env.js';
import { countsByAction, proxy } from '../support/proxy.js';

describe('NodeENI lifecycle driven by node labels and deletes', () => {
  const c = new TestCluster();

  beforeAll(async () => {
    await proxy.reset();
    await c.addNodes(3);
    await c.setNodeLabels(c.node(2).name, { ng: null });
    c.controller.start();
  }, 120000);
  afterAll(() => c.teardown(), 180000);

  it('label two nodes → two attachments; unlabel one → its ENI detached and deleted, the other untouched', async () => {
    const [n0, n1] = c.nodes;
    await c.apply(c.seed('jumbo-frames.yaml'));
    const ready = await c.waitReady('jumbo-frames-eni', 2);
    const eniOf = (node: string) => ready.status!.attachments!.find((a) => a.nodeID === node)!.eniID!;
    const [e0, e1] = [eniOf(n0!.name), eniOf(n1!.name)];
    expect(new Set((await c.enis()).map((e) => e.NetworkInterfaceId))).toEqual(new Set([e0, e1]));

    // The Web UI story: each node's lifecycle is found by the NodeENI search attribute.
    const { client, connection } = await temporalClient();
    const found = await eventually('workflows by NodeENI', async () => {
      const ids: string[] = [];
      for await (const w of client.workflow.list({ query: `NodeENI="jumbo-frames-eni" AND TaskQueue="${c.taskQueue}"` })) ids.push(w.workflowId);
      return ids.length === 2 ? ids.sort() : false;
    });
    expect(found).toEqual([`nodeeni/jumbo-frames-eni/${n0!.name}`, `nodeeni/jumbo-frames-eni/${n1!.name}`].sort());
    await connection.close();

    await proxy.resetCalls();
    await c.setNodeLabels(n1!.name, { ng: null });
    await eventually('node 1 released', async () => {
      const o = await c.get('jumbo-frames-eni');
      return o?.status?.attachments?.length === 1 && o.status.attachments[0]!.nodeID === n0!.name;
    });
    const left = await c.enis();
    expect(left.map((e) => e.NetworkInterfaceId)).toEqual([e0]);
    expect(left[0]!.Attachment?.InstanceId).toBe(n0!.instanceId);
    // The release's EC2 calls: detach, a describe or two while it detaches, delete; nothing else.
    const calls = countsByAction(await proxy.calls());
    expect(calls).toMatchObject({ DetachNetworkInterface: 1, DeleteNetworkInterface: 1 });
    expect(calls.CreateNetworkInterface ?? 0).toBe(0);
    expect(calls.AttachNetworkInterface ?? 0).toBe(0);
    // The node side went away with the ENI; the other node keeps its interface up.
    await eventually('link gone from node 1', async () => !(await n1!.sim!.links()).some((l) => l.ifname === 'eth2'));
    expect((await n0!.sim!.links()).find((l) => l.ifname === 'eth2')).toMatchObject({ mtu: 9001 });
    const events = await c.events('jumbo-frames-eni');
    expect(events.map((e) => e.reason)).toEqual(expect.arrayContaining(['ENICreated', 'ENIAttached', 'ENIConfigured', 'ENIDeleted']));
  }, 180000);

  it('relabel → the node gets a new ENI again; delete the Node → its ENIs released', async () => {
    const [, n1, n2] = c.nodes;
    await c.setNodeLabels(n1!.name, { ng: c.nodeGroup });
    await c.setNodeLabels(n2!.name, { ng: c.nodeGroup });
    await c.waitReady('jumbo-frames-eni', 3);
    const e2 = (await c.get('jumbo-frames-eni'))!.status!.attachments!.find((a) => a.nodeID === n2!.name)!.eniID;

    await c.deleteNode(n2!.name);
    await eventually('node 2 released', async () => (await c.get('jumbo-frames-eni'))?.status?.attachments?.length === 2);
    expect((await c.enis()).map((e) => e.NetworkInterfaceId)).not.toContain(e2);
    expect(await c.enis()).toHaveLength(2);
  }, 180000);

  it('delete the NodeENI → every ENI detached and deleted, finalizer removed, object gone', async () => {
    await c.delete('jumbo-frames-eni');
    const deleting = await c.get('jumbo-frames-eni');
    // Held by the finalizer while the pairs release (or already gone if they were quick).
    if (deleting) expect(deleting.metadata.finalizers).toContain('nodeeni.networking.k8s.aws/finalizer');
    await c.waitGone('jumbo-frames-eni');
    expect(await c.enis()).toHaveLength(0);
    for (const n of c.nodes.slice(0, 2)) expect((await n.sim!.links()).some((l) => l.ifname === 'eth2')).toBe(false);
  }, 180000);
});
