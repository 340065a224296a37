// Status that scales with the fleet: each (NodeENI, node) pair writes a NodeENIAttachment object of its own; the
// NodeENI keeps its conditions and counts and a bounded list for readers of the Go controller's status.
// On the local stack: real apiserver, Temporal, the strict EC2 emulator, simulated nodes with the node agent.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { API_GROUP, API_VERSION, NODEENI_API_VERSION, NODEENI_KIND } from '../../common/names.js';
import { NODEENI_ATTACHMENT_PLURAL, attachmentSelector, type NodeENIAttachment } from '../../common/nodeeni-attachment.js';
import type { AttachmentStatus, NodeENI } from '../../common/nodeeni.js';
import { TOOLS_BIN } from '../../dev/stack/paths.js';
import path from 'node:path';
import { TestCluster } from '../support/cluster.js';
import { eventually, stack } from '../support/env.js';
import { proxy } from '../support/proxy.js';

const execFileP = promisify(execFile);
const T = 240000;

function manifest(c: TestCluster, name: string): NodeENI {
  const subnets = stack().seed.subnets.filter((s) => s.az === 'us-east-1a').slice(0, 2);
  return {
    apiVersion: NODEENI_API_VERSION,
    kind: NODEENI_KIND,
    metadata: { name, labels: { 'test-run': c.runId } },
    spec: { nodeSelector: { ng: c.nodeGroup }, subnetIDs: subnets.map((s) => s.id), securityGroupIDs: [stack().seed.securityGroups[0]!.id], deviceIndex: 2, mtu: 9001 },
  } as NodeENI;
}

async function objectsOf(c: TestCluster, nodeENI: string): Promise<NodeENIAttachment[]> {
  const r = (await c.k.custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_ATTACHMENT_PLURAL, labelSelector: attachmentSelector(nodeENI) })) as {
    items: NodeENIAttachment[];
  };
  return r.items;
}

async function kubectl(...args: string[]): Promise<string> {
  const r = await execFileP(path.join(TOOLS_BIN, 'kubectl'), args, { env: { ...process.env, KUBECONFIG: stack().kube.kubeconfig } });
  return r.stdout;
}

const strip = (a: AttachmentStatus) => ({ ...a, lastUpdated: undefined });

describe('NodeENIAttachment: one object per (NodeENI, node)', () => {
  const c = new TestCluster();
  beforeAll(async () => {
    await proxy.reset();
    await c.addNodes(2);
    c.controller.start();
  }, 120000);
  afterAll(() => c.teardown(), 180000);

  it('appears when the pair starts, follows its phases to Ready, is owned by the NodeENI, lists in kubectl, and goes on release', async () => {
    const name = `attobj-${c.runId}`;
    const [n0, n1] = c.nodes;
    // Every phase each object shows, in order, seen by polling while the pairs converge.
    const seen = new Map<string, string[]>();
    let polling = true;
    const poller = (async () => {
      while (polling) {
        for (const o of await objectsOf(c, name).catch(() => [])) {
          const list = seen.get(o.spec.nodeName) ?? [];
          if (o.status?.phase && list[list.length - 1] !== o.status.phase) list.push(o.status.phase);
          seen.set(o.spec.nodeName, list);
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    const created = await c.apply(manifest(c, name));
    const ready = await c.waitReady(name, 4);
    polling = false;
    await poller;

    const objects = await objectsOf(c, name);
    expect(objects.map((o) => o.metadata.name).sort()).toEqual([`${name}.${n0!.name}`, `${name}.${n1!.name}`].sort());
    const uid = (await c.get(name))!.metadata.uid;
    expect(uid).toBe(created.metadata.uid ?? uid);
    for (const o of objects) {
      const node = o.spec.nodeName;
      expect(o.spec.nodeENI).toBe(name);
      expect(o.metadata.labels).toMatchObject({ [`nodeeni.${API_GROUP}/name`]: name, [`nodeeni.${API_GROUP}/node`]: node });
      expect(o.metadata.ownerReferences).toEqual([expect.objectContaining({ apiVersion: NODEENI_API_VERSION, kind: NODEENI_KIND, name, uid, controller: true })]);
      // The object holds exactly the entries the NodeENI lists for the node, with every field.
      const fromNodeENI = ready.status!.attachments!.filter((a) => a.nodeID === node);
      expect(fromNodeENI).toHaveLength(2);
      expect(o.status!.attachments!.map(strip)).toEqual(fromNodeENI.map(strip));
      expect(o.status!.attachments!.every((a) => a.phase === 'Ready' && /^eni-/.test(a.eniID ?? '') && a.macAddress && a.interfaceName && a.instanceID)).toBe(true);
      expect(o.status).toMatchObject({ phase: 'Ready', ready: '2/2', eniIDs: o.status!.attachments!.map((a) => a.eniID).join(','), interfaces: 'eth2,eth3' });
      expect(o.status!.conditions).toEqual([expect.objectContaining({ type: 'Ready', status: 'True', reason: 'AllENIsReady', observedGeneration: 1 })]);
      // Seen before Ready in an earlier phase, and never going back from Ready.
      const phases = seen.get(node) ?? [];
      expect(phases[phases.length - 1]).toBe('Ready');
      expect(phases.length).toBeGreaterThanOrEqual(2);
      expect(phases.indexOf('Ready')).toBe(phases.length - 1);
    }
    // The NodeENI says its list is complete and where the objects are.
    const truncated = ready.status!.conditions!.find((x) => x.type === 'AttachmentsTruncated');
    expect(truncated).toMatchObject({ status: 'False', reason: 'AllListed' });
    expect(truncated!.message).toContain(`kubectl get nodeeniattachments -l nodeeni.${API_GROUP}/name=${name}`);
    expect(ready.status).toMatchObject({ ready: '4/4', nodeCount: 2 });

    // kubectl: one row per pair with node, phase, ENIs and interfaces; -l by NodeENI and by node; the category.
    const wide = await kubectl('get', 'nodeeniattachments', '-o', 'wide', '-l', attachmentSelector(name));
    const rows = wide.trim().split('\n');
    expect(rows[0]).toMatch(/^NAME\s+NODEENI\s+NODE\s+PHASE\s+READY\s+ENIS\s+INTERFACES\s+AGE$/);
    expect(rows).toHaveLength(3);
    for (const o of objects) {
      const row = rows.find((r) => r.startsWith(`${o.metadata.name} `))!;
      expect(row.split(/\s+/).slice(1, 7)).toEqual([name, o.spec.nodeName, 'Ready', '2/2', o.status!.eniIDs, 'eth2,eth3']);
    }
    const one = await kubectl('get', 'nodeeniattachments', '-o', 'name', '-l', attachmentSelector(name, n1!.name));
    expect(one.trim()).toBe(`nodeeniattachment.${API_GROUP}/${name}.${n1!.name}`);
    const category = (await kubectl('get', 'multi-eni', '-o', 'name')).trim().split('\n');
    expect(category).toEqual(expect.arrayContaining([`nodeeni.${API_GROUP}/${name}`, `nodeeniattachment.${API_GROUP}/${name}.${n0!.name}`]));

    // Unlabel one node: its pair releases and deletes its object; the other object is not rewritten.
    const kept = objects.find((o) => o.spec.nodeName === n0!.name)!;
    await c.setNodeLabels(n1!.name, { ng: null });
    await eventually('node 1 object gone', async () => (await objectsOf(c, name)).length === 1);
    const left = await objectsOf(c, name);
    expect(left.map((o) => [o.metadata.name, o.metadata.resourceVersion])).toEqual([[kept.metadata.name, kept.metadata.resourceVersion]]);
    await eventually('NodeENI lists node 0 only', async () => {
      const o = await c.get(name);
      return o?.status?.attachments?.every((a) => a.nodeID === n0!.name) && o.status.ready === '2/2';
    });

    await c.delete(name);
    await c.waitGone(name, 120000);
    expect(await objectsOf(c, name)).toEqual([]);
  }, T);
});

describe('status.attachments past its limit (STATUS_ATTACHMENTS_LIMIT=1)', () => {
  const c = new TestCluster({ STATUS_ATTACHMENTS_LIMIT: '1' });
  beforeAll(async () => {
    await proxy.reset();
    await c.addNodes(2);
    c.controller.start();
  }, 120000);
  afterAll(() => c.teardown(), 180000);

  it('lists one entry, says it is truncated and where the rest are; counts and Ready cover all four', async () => {
    const name = `attcut-${c.runId}`;
    await c.apply(manifest(c, name));
    const o = await eventually(
      'Ready 4/4 with a truncated list',
      async () => {
        const n = await c.get(name);
        const ready = n?.status?.conditions?.find((x) => x.type === 'Ready');
        return ready?.status === 'True' && n!.status!.ready === '4/4' ? n : undefined;
      },
      120000,
    );
    expect(o.status!.attachments).toHaveLength(1);
    expect(o.status!.attachments![0]).toMatchObject({ phase: 'Ready', nodeID: [...c.nodes.map((n) => n.name)].sort()[0] });
    const truncated = o.status!.conditions!.find((x) => x.type === 'AttachmentsTruncated')!;
    expect(truncated).toMatchObject({ status: 'True', reason: 'Truncated' });
    expect(truncated.message).toBe(
      `status.attachments lists 1 of 4 attachments; every one is in a NodeENIAttachment object: kubectl get nodeeniattachments -l nodeeni.${API_GROUP}/name=${name}`,
    );
    const objects = await objectsOf(c, name);
    expect(objects.flatMap((x) => x.status?.attachments ?? []).filter((a) => a.phase === 'Ready')).toHaveLength(4);
  }, T);
});
