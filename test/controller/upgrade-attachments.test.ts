// Upgrade in place from the release before NodeENIAttachment objects: that release's controller converges a NodeENI
// (its pairs write their entries into the NodeENI's status), then this release's controller takes over the same
// workflows. Every pair gets its object with the same ENIs, nothing is created, attached or detached in EC2, and the
// NodeENI's status is this release's (conditions, counts, the bounded list).
import { API_GROUP, API_VERSION, NODEENI_API_VERSION, NODEENI_KIND } from '../../common/names.js';
import { NODEENI_ATTACHMENT_PLURAL, attachmentSelector, type NodeENIAttachment } from '../../common/nodeeni-attachment.js';
import type { NodeENI } from '../../common/nodeeni.js';
import { TestCluster } from '../support/cluster.js';
import { eventually, stack } from '../support/env.js';
import { BEFORE_ATTACHMENT_OBJECTS, previousReleaseDist } from '../support/previous-release.js';
import { countsByAction, proxy } from '../support/proxy.js';

const T = 300000;

describe('upgrade from the release without NodeENIAttachment objects', () => {
  const c = new TestCluster();
  let oldDist: string;
  beforeAll(async () => {
    oldDist = await previousReleaseDist(BEFORE_ATTACHMENT_OBJECTS);
    await proxy.reset();
    await c.addNodes(2);
  }, 600000);
  afterAll(() => c.teardown(), 180000);

  it('fills the objects from the running pairs, keeps every ENI, and releases through them after', async () => {
    const name = `upgrade-${c.runId}`;
    const subnets = stack().seed.subnets.filter((s) => s.az === 'us-east-1a').slice(0, 2);
    const objects = async () =>
      (
        (await c.k.custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_ATTACHMENT_PLURAL, labelSelector: attachmentSelector(name) })) as {
          items: NodeENIAttachment[];
        }
      ).items;

    c.controller.start({}, oldDist);
    await c.apply({
      apiVersion: NODEENI_API_VERSION,
      kind: NODEENI_KIND,
      metadata: { name, labels: { 'test-run': c.runId } },
      spec: { nodeSelector: { ng: c.nodeGroup }, subnetIDs: subnets.map((s) => s.id), securityGroupIDs: [stack().seed.securityGroups[0]!.id], deviceIndex: 2 },
    } as NodeENI);
    const before = await c.waitReady(name, 4, 150000);
    // The previous release: entries in the NodeENI, no objects, no AttachmentsTruncated condition.
    expect(await objects()).toEqual([]);
    expect(before.status!.conditions!.map((x) => x.type)).not.toContain('AttachmentsTruncated');
    const held = (await c.enis()).map((e) => [e.NetworkInterfaceId, e.Attachment?.AttachmentId, e.Attachment?.InstanceId]).sort();
    expect(held).toHaveLength(4);

    await c.controller.stop();
    await proxy.resetCalls();
    c.controller.start();

    const moved = await eventually(
      'an object per pair with its entries',
      async () => {
        const o = await objects();
        return o.length === 2 && o.every((x) => x.status?.attachments?.length === 2) ? o : undefined;
      },
      90000,
    );
    const after = await eventually('the NodeENI status of this release', async () => {
      const n = await c.get(name);
      return n?.status?.conditions?.some((x) => x.type === 'AttachmentsTruncated' && x.status === 'False') ? n : undefined;
    });
    const key = (a: { nodeID: string; subnetID: string; eniID?: string; attachmentID?: string; phase?: string }) => [a.nodeID, a.subnetID, a.eniID, a.attachmentID, a.phase].join(' ');
    expect(moved.flatMap((o) => o.status!.attachments!).map(key).sort()).toEqual(before.status!.attachments!.map(key).sort());
    expect(after.status!.attachments!.map(key).sort()).toEqual(before.status!.attachments!.map(key).sort());
    expect(after.status).toMatchObject({ ready: '4/4' });
    expect(after.status!.conditions!.find((x) => x.type === 'Ready')).toMatchObject({ status: 'True' });
    for (const o of moved) expect(o.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: NODEENI_KIND, name, uid: after.metadata.uid })]);
    // The same ENIs on the same attachments; EC2 saw no create, attach, detach or delete.
    expect((await c.enis()).map((e) => [e.NetworkInterfaceId, e.Attachment?.AttachmentId, e.Attachment?.InstanceId]).sort()).toEqual(held);
    const calls = countsByAction(await proxy.calls());
    for (const action of ['CreateNetworkInterface', 'AttachNetworkInterface', 'DetachNetworkInterface', 'DeleteNetworkInterface']) expect([action, calls[action] ?? 0]).toEqual([action, 0]);

    // The pairs the previous release started release through this release: objects and ENIs go.
    await c.delete(name);
    await c.waitGone(name, 120000);
    expect(await objects()).toEqual([]);
    await eventually('ENIs deleted', async () => (await c.enis()).length === 0, 60000);
  }, T);
});
