import type { AttachmentStatus, NodeENI } from '../common/nodeeni.js';
import type { NodeENIAttachment } from '../common/nodeeni-attachment.js';
import { CONDITION_TRUNCATED, allAttachments, compatibleList, indexAttachmentObjects } from './attachment-view.js';

const e = (nodeID: string, subnetID = 's1'): AttachmentStatus => ({ nodeID, subnetID, phase: 'Ready' });
const obj = (nodeENI: string, node: string, entries: AttachmentStatus[], ownerUid = 'uid-1'): NodeENIAttachment => ({
  apiVersion: 'networking.k8s.aws/v1alpha1',
  kind: 'NodeENIAttachment',
  metadata: { name: `${nodeENI}.${node}`, ownerReferences: [{ apiVersion: 'networking.k8s.aws/v1alpha1', kind: 'NodeENI', name: nodeENI, uid: ownerUid }] },
  spec: { nodeENI, nodeName: node },
  status: { attachments: entries },
});
const nodeENI = (status?: NodeENI['status']): NodeENI => ({ apiVersion: 'v', kind: 'NodeENI', metadata: { name: 'eni', uid: 'uid-1' }, spec: { nodeSelector: {} }, ...(status ? { status } : {}) });
const marked = { type: CONDITION_TRUNCATED, status: 'False' as const, reason: 'AllListed', message: '', lastTransitionTime: 't' };

describe('attachment view', () => {
  it('indexes objects by NodeENI, each list in node order', () => {
    const idx = indexAttachmentObjects([obj('eni', 'n2', [e('n2')]), obj('other', 'n1', [e('n1')]), obj('eni', 'n1', [e('n1')])]);
    expect(idx.get('eni')!.map((o) => o.spec.nodeName)).toEqual(['n1', 'n2']);
    expect(idx.get('other')).toHaveLength(1);
  });

  it("takes every attachment from the objects, ignoring an earlier same-named NodeENI's", () => {
    const n = nodeENI({ conditions: [marked], attachments: [e('stale')] });
    expect(allAttachments(n, [obj('eni', 'n1', [e('n1', 'a'), e('n1', 'b')]), obj('eni', 'n2', [e('n2')], 'uid-old')])).toEqual([e('n1', 'a'), e('n1', 'b')]);
  });

  it('ignores the entries a NodeENI status holds: the objects are the record', () => {
    expect(allAttachments(nodeENI({ attachments: [e('n1', 'a'), e('n2')] }), [obj('eni', 'n2', [e('n2')])])).toEqual([e('n2')]);
    expect(allAttachments(nodeENI({ conditions: [marked], attachments: [e('n1')] }), [])).toEqual([]);
  });

  it('lists up to the limit and says whether that is all', () => {
    const all = [e('n1'), e('n2'), e('n3')];
    const cut = compatibleList('eni', all, 2);
    expect(cut.attachments).toEqual([e('n1'), e('n2')]);
    expect(cut.condition).toEqual({
      type: CONDITION_TRUNCATED,
      status: 'True',
      reason: 'Truncated',
      message: 'status.attachments lists 2 of 3 attachments; every one is in a NodeENIAttachment object: kubectl get nodeeniattachments -l nodeeni.networking.k8s.aws/name=eni',
    });
    const whole = compatibleList('eni', all, 50);
    expect(whole.attachments).toEqual(all);
    expect(whole.condition).toMatchObject({ status: 'False', reason: 'AllListed' });
    expect(compatibleList('eni', all, 0).attachments).toEqual([]);
  });
});
