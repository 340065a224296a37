// NodeENIAttachment: one object per (NodeENI, node), written only by that pair's workflow (its status activity).
// The NodeENI's status no longer grows with the fleet: like Endpoints and EndpointSlices, the per-node entries
// live in objects of their own, and the NodeENI keeps its conditions and counts (and a bounded compatible list).
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { API_GROUP, NODEENI_API_VERSION, NODEENI_KIND } from './names.js';
import { AttachmentStatusSchema, ConditionSchema, type AttachmentStatus, type AttachmentPhase } from './nodeeni.js';

export const NODEENI_ATTACHMENT_KIND = 'NodeENIAttachment';
export const NODEENI_ATTACHMENT_PLURAL = 'nodeeniattachments';
/** `kubectl get multi-eni` lists NodeENIs and NodeENIAttachments. */
export const CRD_CATEGORY = 'multi-eni';
/** Labels for `kubectl get nodeeniattachments -l ...`; a value too long or not a label value is hashed. */
export const LABEL_NODEENI = `nodeeni.${API_GROUP}/name`;
export const LABEL_NODE = `nodeeni.${API_GROUP}/node`;

export const NodeENIAttachmentSpecSchema = z.object({
  nodeENI: z.string().meta({ description: 'The NodeENI (its name).' }),
  nodeName: z.string().meta({ description: 'The node (its name).' }),
});

export const NodeENIAttachmentStatusSchema = z.object({
  attachments: z.array(AttachmentStatusSchema).optional().meta({ description: "The pair's ENIs, one per subnet: the entries the NodeENI's status.attachments had." }),
  phase: z.string().optional().meta({ description: 'Ready, Failed, Releasing or the least advanced phase of the ENIs.' }),
  ready: z.string().optional().meta({ description: 'ENIs ready / ENIs.' }),
  eniIDs: z.string().optional().meta({ description: 'The ENI IDs, comma-separated (for kubectl get).' }),
  interfaces: z.string().optional().meta({ description: 'The interface names on the node, comma-separated (for kubectl get).' }),
  conditions: z.array(ConditionSchema).optional(),
  observedGeneration: z.number().int().optional().meta({ description: "The NodeENI's generation the pair last worked on." }),
});
export type NodeENIAttachmentStatus = z.infer<typeof NodeENIAttachmentStatusSchema>;

export interface NodeENIAttachment {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; blockOwnerDeletion?: boolean; controller?: boolean }[];
    creationTimestamp?: string | Date;
  };
  spec: z.infer<typeof NodeENIAttachmentSpecSchema>;
  status?: NodeENIAttachmentStatus;
}

function shortHash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 10);
}

/**
 * The object's name: `<nodeENI>.<node>`, a valid DNS subdomain when both are (a NodeENI or node name with a dot in it
 * still names one pair: the hash suffix below keeps two pairs apart). Over 253 characters: cut, with a hash of both.
 */
export function attachmentObjectName(nodeENI: string, nodeName: string): string {
  const plain = `${nodeENI}.${nodeName}`;
  const suffix = shortHash(`${nodeENI}\n${nodeName}`);
  if (plain.length + 1 + suffix.length <= 253 && !nodeENI.includes('.')) return plain;
  return `${plain.slice(0, 253 - 1 - suffix.length).replace(/[.-]+$/, '')}.${suffix}`;
}

/** A label value: the name itself when it is one (≤ 63 characters), or a hash of it. */
export function labelValue(name: string): string {
  return name.length <= 63 && /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(name) ? name : `h-${shortHash(name)}`;
}

/** Label selector for the objects of a NodeENI (and optionally a node). */
export function attachmentSelector(nodeENI: string, nodeName?: string): string {
  return [`${LABEL_NODEENI}=${labelValue(nodeENI)}`, ...(nodeName ? [`${LABEL_NODE}=${labelValue(nodeName)}`] : [])].join(',');
}

/** The order in which a pair's phases advance: a pair shows its least advanced ENI. */
const PHASE_ORDER: readonly AttachmentPhase[] = ['Pending', 'Creating', 'Attaching', 'WaitingForNodeAgent', 'Configuring', 'Ready'];

/** The pair's summary for `kubectl get`: Failed if any ENI failed, Releasing if any is released, else the least advanced. */
export function pairPhase(entries: readonly AttachmentStatus[]): string {
  if (entries.length === 0) return 'Pending';
  const phases = entries.map((e) => e.phase ?? (e.status === 'attached' ? 'Ready' : e.status === 'failed' ? 'Failed' : 'Pending'));
  if (phases.includes('Failed')) return 'Failed';
  if (phases.includes('Releasing')) return 'Releasing';
  return PHASE_ORDER[Math.min(...phases.map((p) => Math.max(0, PHASE_ORDER.indexOf(p as AttachmentPhase))))]!;
}

export interface PairObjectInput {
  nodeENI: string;
  nodeName: string;
  attachments: AttachmentStatus[];
  generation?: number;
  /** RFC 3339, the Ready condition's lastTransitionTime when it flips. */
  now: string;
  /** The Ready condition the object holds now (its lastTransitionTime moves only when the status flips). */
  previousReady?: { status: string; lastTransitionTime: string };
}

/** The labels and status a pair writes on its object. Pure. */
export function pairObjectContent(input: PairObjectInput): { labels: Record<string, string>; status: NodeENIAttachmentStatus } {
  const entries = input.attachments;
  const phase = pairPhase(entries);
  const ready = entries.filter((e) => (e.phase ? e.phase === 'Ready' : e.status === 'attached')).length;
  const failed = entries.find((e) => e.phase === 'Failed' || e.status === 'failed');
  const isReady = entries.length > 0 && ready === entries.length;
  const readyStatus = isReady ? 'True' : 'False';
  const message = failed
    ? `subnet ${failed.subnetID}: ${failed.message ?? 'failed'}`
    : `${ready}/${entries.length} ENIs ready${isReady ? '' : `; ${phase}`}`;
  return {
    labels: { [LABEL_NODEENI]: labelValue(input.nodeENI), [LABEL_NODE]: labelValue(input.nodeName) },
    status: {
      attachments: entries,
      phase,
      ready: `${ready}/${entries.length}`,
      eniIDs: entries.map((e) => e.eniID ?? '-').join(','),
      interfaces: entries.map((e) => e.interfaceName ?? '-').join(','),
      conditions: [
        {
          type: 'Ready',
          status: readyStatus,
          reason: isReady ? 'AllENIsReady' : failed ? 'AttachmentFailed' : phase,
          message,
          lastTransitionTime: input.previousReady?.status === readyStatus ? input.previousReady.lastTransitionTime : input.now,
          ...(input.generation !== undefined ? { observedGeneration: input.generation } : {}),
        },
      ],
      ...(input.generation !== undefined ? { observedGeneration: input.generation } : {}),
    },
  };
}

/**
 * The whole object for a create: owned by its NodeENI, so garbage collection deletes it with the NodeENI (no
 * blockOwnerDeletion: setting it needs update on nodeenis/finalizers, a right the controller does not have).
 */
export function pairObjectManifest(nodeENI: string, uid: string, nodeName: string, content: ReturnType<typeof pairObjectContent>): NodeENIAttachment {
  return {
    apiVersion: NODEENI_API_VERSION,
    kind: NODEENI_ATTACHMENT_KIND,
    metadata: {
      name: attachmentObjectName(nodeENI, nodeName),
      labels: content.labels,
      ownerReferences: [{ apiVersion: NODEENI_API_VERSION, kind: NODEENI_KIND, name: nodeENI, uid, controller: true }],
    },
    spec: { nodeENI, nodeName },
    status: content.status,
  };
}
