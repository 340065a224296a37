// Pure: a NodeENI's attachments as the pairs' NodeENIAttachment objects hold them, the bounded list the NodeENI's
// status keeps for readers written for the Go controller. The watcher reads every decision about the attachment objects from here.
import type { AttachmentStatus, Condition, NodeENI } from '../common/nodeeni.js';
import { attachmentSelector, type NodeENIAttachment } from '../common/nodeeni-attachment.js';

/** The NodeENI condition that says whether status.attachments lists every attachment. */
export const CONDITION_TRUNCATED = 'AttachmentsTruncated';
export const DEFAULT_STATUS_ATTACHMENTS_LIMIT = 50;

/** The objects by NodeENI name, each list in node order (the compatible list's order). */
export function indexAttachmentObjects(objects: readonly NodeENIAttachment[]): Map<string, NodeENIAttachment[]> {
  const out = new Map<string, NodeENIAttachment[]>();
  for (const o of objects) {
    const list = out.get(o.spec.nodeENI);
    if (list) list.push(o);
    else out.set(o.spec.nodeENI, [o]);
  }
  for (const list of out.values()) list.sort((a, b) => (a.spec.nodeName < b.spec.nodeName ? -1 : a.spec.nodeName > b.spec.nodeName ? 1 : 0));
  return out;
}

/** Whether an object belongs to this NodeENI (not to an earlier one of the same name that garbage collection has yet to remove). */
export function ownedBy(o: NodeENIAttachment, n: NodeENI): boolean {
  const owner = o.metadata.ownerReferences?.find((r) => r.kind === 'NodeENI');
  return !owner || !n.metadata.uid || owner.uid === n.metadata.uid;
}

/** Every attachment of the NodeENI: the entries of its objects. */
export function allAttachments(n: NodeENI, objects: readonly NodeENIAttachment[]): AttachmentStatus[] {
  return objects.filter((o) => ownedBy(o, n)).flatMap((o) => o.status?.attachments ?? []);
}

/** The NodeENI as the decisions see it: status.attachments holding every attachment. */
export function withAllAttachments<T extends NodeENI>(n: T, attachments: AttachmentStatus[]): T {
  return { ...n, status: { ...n.status, attachments } };
}

export interface CompatibleList {
  attachments: AttachmentStatus[];
  condition: Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;
}

/** The first `limit` attachments (node order) for status.attachments, and the condition saying whether that is all. */
export function compatibleList(nodeENI: string, all: readonly AttachmentStatus[], limit: number): CompatibleList {
  const shown = all.slice(0, Math.max(0, limit));
  const where = `kubectl get nodeeniattachments -l ${attachmentSelector(nodeENI)}`;
  const truncated = shown.length < all.length;
  return {
    attachments: shown,
    condition: truncated
      ? {
          type: CONDITION_TRUNCATED,
          status: 'True',
          reason: 'Truncated',
          message: `status.attachments lists ${shown.length} of ${all.length} attachments; every one is in a NodeENIAttachment object: ${where}`,
        }
      : {
          type: CONDITION_TRUNCATED,
          status: 'False',
          reason: 'AllListed',
          message: `status.attachments lists all ${all.length} attachments; per node also in NodeENIAttachment objects: ${where}`,
        },
  };
}
