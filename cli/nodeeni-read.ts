// The plugin's one read of a NodeENI: the object, with status.attachments holding every attachment from its
// NodeENIAttachment objects (the NodeENI itself lists at most STATUS_ATTACHMENTS_LIMIT).
import type { CustomObjectsApi } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, NODEENI_PLURAL } from '../common/names.js';
import type { NodeENI } from '../common/nodeeni.js';
import { NODEENI_ATTACHMENT_PLURAL, attachmentSelector, type NodeENIAttachment } from '../common/nodeeni-attachment.js';
import { allAttachments, withAllAttachments } from '../watcher/attachment-view.js';

export async function readNodeENI(custom: CustomObjectsApi, name: string, node?: string): Promise<NodeENI> {
  const obj = (await custom.getClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, name })) as NodeENI;
  const list = (await custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_ATTACHMENT_PLURAL, labelSelector: attachmentSelector(name, node) })) as {
    items: NodeENIAttachment[];
  };
  const objects = list.items.filter((o) => o.spec.nodeENI === name).sort((a, b) => (a.spec.nodeName < b.spec.nodeName ? -1 : 1));
  return withAllAttachments(obj, allAttachments(obj, objects).filter((a) => !node || a.nodeID === node));
}
