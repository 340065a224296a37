import type { AttachmentStatus, NodeENI } from '../common/nodeeni.js';
import type { NodeENIAttachment } from '../common/nodeeni-attachment.js';
import { CONDITION_TRUNCATED, allAttachments, compatibleList, indexAttachmentObjects, isLegacyStatus, legacyToMigrate } from './attachment-view.js';

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

  it('a status written by the previous release is legacy: its nodes without an object are to move, and count meanwhile', () => {
    const legacy = nodeENI({ attachments: [e('n1', 'a'), e('n1', 'b'), e('n2')] });
    expect(isLegacyStatus(legacy)).toBe(true);
    const have = [obj('eni', 'n2', [e('n2')])];
    expect([...legacyToMigrate(legacy, have)]).toEqual([['n1', [e('n1', 'a'), e('n1', 'b')]]]);
    expect(allAttachments(legacy, have)).toEqual([e('n2'), e('n1', 'a'), e('n1', 'b')]);
    // Once the watcher of this release has written the list (the condition marks it), the list is only a copy.
    const current = nodeENI({ conditions: [marked], attachments: [e('n1')] });
    expect(isLegacyStatus(current)).toBe(false);
    expect(legacyToMigrate(current, [])).toEqual(new Map());
    expect(allAttachments(current, [])).toEqual([]);
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
