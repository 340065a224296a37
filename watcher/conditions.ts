// Pure: the NodeENI status fields the watcher owns (conditions, observedGeneration, counts), computed from the
// spec and the attachments the pair workflows wrote. The watcher writes them only when they change.
import { parseSpec, subnetRefs, type AttachmentStatus, type Condition, type NodeENI } from '../common/nodeeni.js';
import { compatibleList } from './attachment-view.js';

export const CONDITION_READY = 'Ready';
export const CONDITION_PROGRESSING = 'Progressing';
export const CONDITION_DEGRADED = 'Degraded';

export const REASONS = {
  AllAttachmentsReady: 'AllAttachmentsReady',
  NoMatchingNodes: 'NoMatchingNodes',
  Converging: 'Converging',
  InvalidSpec: 'InvalidSpec',
  AttachmentFailed: 'AttachmentFailed',
  Deleting: 'Deleting',
  AsExpected: 'AsExpected',
  /** Not ready because the node's instance has no free network interface slot: the pair waits for one. */
  WaitingForDeviceSlot: 'WaitingForDeviceSlot',
} as const;

/** The part of status this module computes (attachments belong to the pair workflows). */
export interface WatcherStatus {
  conditions: Condition[];
  observedGeneration: number;
  ready: string;
  readyCount: number;
  desiredCount: number;
  nodeCount: number;
  /** The bounded list for readers of the Go controller's status (set when StatusInput.listLimit is). */
  attachments?: AttachmentStatus[];
}

export interface StatusInput {
  nodeENI: NodeENI;
  /** Names of the nodes with a desired pair of this NodeENI. */
  desiredNodes: readonly string[];
  /** RFC 3339, used as lastTransitionTime for conditions whose status changes. */
  now: string;
  /**
   * status.attachments holds every attachment (from the NodeENIAttachment objects); the status written lists at most
   * this many, with the AttachmentsTruncated condition. Unset: the attachments are not the watcher's to write.
   */
  listLimit?: number;
}

/** A Go-controller entry has no phase, only status "attached". */
export function isReady(a: AttachmentStatus): boolean {
  return a.phase ? a.phase === 'Ready' : a.status === 'attached';
}
export function isFailed(a: AttachmentStatus): boolean {
  return a.phase ? a.phase === 'Failed' : a.status === 'failed';
}

function describeFailure(a: AttachmentStatus): string {
  return `node ${a.nodeID} subnet ${a.subnetID}: ${a.message ?? 'failed'}`;
}

type Draft = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;

/** Subnets a spec asks for: each ID and each name counts once (a name resolves to one subnet). */
export function subnetCount(spec: NodeENI['spec']): number {
  const parsed = parseSpec(spec);
  if (!parsed.ok) return 0;
  const { ids, names } = subnetRefs(parsed.spec);
  return ids.length + names.length;
}

/**
 * Attachments one node should have. Its pair writes one entry per *resolved* subnet of the node's availability
 * zone, so once it has written them their number is the answer (a name that resolves to a subnet also named by ID
 * counts once; a subnet of another AZ is not the node's, even listed by ID); before that, and never above it, the
 * spec's count.
 */
export function desiredOnNode(refs: { ids: readonly string[]; names: readonly string[] }, entries: readonly AttachmentStatus[]): number {
  const asked = refs.ids.length + refs.names.length;
  const held = new Set(entries.filter((a) => a.phase !== 'Releasing').map((a) => a.subnetID)).size;
  return held === 0 ? asked : Math.min(held, asked);
}

/** Ready and Progressing while some desired attachment is not Ready: converging, waiting for a slot, or failed. */
function notReadyDrafts(c: {
  relevant: readonly AttachmentStatus[];
  failed: readonly AttachmentStatus[];
  desiredCount: number;
  readyCount: number;
  releasing: number;
  counts: string;
}): Draft[] {
  const { relevant, failed, releasing, counts } = c;
  // Still converging unless every attachment that is not ready has failed (then only a change helps).
  const failedRelevant = relevant.filter(isFailed).length;
  const pending = c.desiredCount - c.readyCount - failedRelevant;
  const converging = pending > 0 || releasing > 0;
  const detail = releasing > 0 ? `${counts}; releasing ${releasing}` : counts;
  // A position waiting for a slot says why (the instance type's interface limit, the indexes in use).
  const waiting = relevant.find((a) => a.phase === 'Pending' && /device index/i.test(a.message ?? ''));
  return [
    {
      type: CONDITION_READY,
      status: 'False',
      reason: failed.length > 0 ? REASONS.AttachmentFailed : waiting ? REASONS.WaitingForDeviceSlot : REASONS.Converging,
      message:
        failed.length > 0
          ? `${detail}; first failure: ${describeFailure(failed[0]!)}`
          : waiting
            ? `${detail}; waiting: node ${waiting.nodeID} subnet ${waiting.subnetID}: ${waiting.message}`
            : detail,
    },
    {
      type: CONDITION_PROGRESSING,
      status: converging ? 'True' : 'False',
      reason: converging ? REASONS.Converging : REASONS.AttachmentFailed,
      message: detail,
    },
  ];
}

export function computeStatus(input: StatusInput): WatcherStatus {
  const { nodeENI, now } = input;
  const generation = nodeENI.metadata.generation ?? 0;
  const attachments = nodeENI.status?.attachments ?? [];
  const desiredNodes = new Set(input.desiredNodes);
  const parsed = parseSpec(nodeENI.spec);
  const isDeleting = nodeENI.metadata.deletionTimestamp !== undefined && nodeENI.metadata.deletionTimestamp !== null;

  const failed = attachments.filter(isFailed);
  let drafts: Draft[];
  let readyCount: number;
  let desiredCount: number;
  let nodeCount: number;

  if (!parsed.ok) {
    // The desired set cannot be computed from an invalid spec; report what is held, untouched.
    readyCount = attachments.filter(isReady).length;
    desiredCount = attachments.length;
    nodeCount = new Set(attachments.map((a) => a.nodeID)).size;
    const msg = `invalid spec, nothing changed until it is fixed: ${parsed.error}`;
    drafts = [
      { type: CONDITION_READY, status: 'False', reason: REASONS.InvalidSpec, message: msg },
      { type: CONDITION_PROGRESSING, status: 'False', reason: REASONS.InvalidSpec, message: msg },
      { type: CONDITION_DEGRADED, status: 'True', reason: REASONS.InvalidSpec, message: msg },
    ];
  } else {
    nodeCount = isDeleting ? 0 : desiredNodes.size;
    const refs = subnetRefs(parsed.spec);
    const byNode = new Map<string, AttachmentStatus[]>();
    for (const a of attachments) {
      const list = byNode.get(a.nodeID);
      if (list) list.push(a);
      else byNode.set(a.nodeID, [a]);
    }
    desiredCount = isDeleting ? 0 : [...desiredNodes].reduce((sum, n) => sum + desiredOnNode(refs, byNode.get(n) ?? []), 0);
    const relevant = attachments.filter((a) => desiredNodes.has(a.nodeID));
    readyCount = isDeleting ? 0 : Math.min(relevant.filter(isReady).length, desiredCount);
    // Entries of nodes that are no longer desired are being released by their workflows.
    const releasing = attachments.filter((a) => !desiredNodes.has(a.nodeID)).length;
    const degraded: Draft =
      failed.length > 0
        ? {
            type: CONDITION_DEGRADED,
            status: 'True',
            reason: REASONS.AttachmentFailed,
            message: `${failed.length} attachment(s) failed; first: ${describeFailure(failed[0]!)}`,
          }
        : { type: CONDITION_DEGRADED, status: 'False', reason: REASONS.AsExpected, message: 'no attachment failed' };
    const counts = `${readyCount}/${desiredCount} attachments ready`;

    if (isDeleting) {
      const msg = `NodeENI is being deleted: releasing ${attachments.length} attachment(s)`;
      drafts = [
        { type: CONDITION_READY, status: 'False', reason: REASONS.Deleting, message: msg },
        { type: CONDITION_PROGRESSING, status: 'True', reason: REASONS.Deleting, message: msg },
        degraded,
      ];
    } else if (desiredCount === 0) {
      const msg = releasing > 0 ? `no node matches the nodeSelector; releasing ${releasing} attachment(s)` : 'no node matches the nodeSelector';
      drafts = [
        { type: CONDITION_READY, status: releasing > 0 ? 'False' : 'True', reason: REASONS.NoMatchingNodes, message: msg },
        { type: CONDITION_PROGRESSING, status: releasing > 0 ? 'True' : 'False', reason: releasing > 0 ? REASONS.Converging : REASONS.NoMatchingNodes, message: msg },
        degraded,
      ];
    } else if (readyCount === desiredCount && failed.length === 0 && releasing === 0) {
      drafts = [
        { type: CONDITION_READY, status: 'True', reason: REASONS.AllAttachmentsReady, message: counts },
        { type: CONDITION_PROGRESSING, status: 'False', reason: REASONS.AllAttachmentsReady, message: counts },
        degraded,
      ];
    } else {
      drafts = [...notReadyDrafts({ relevant, failed, desiredCount, readyCount, releasing, counts }), degraded];
    }
  }

  const list = input.listLimit !== undefined ? compatibleList(nodeENI.metadata.name, attachments, input.listLimit) : undefined;
  if (list) drafts.push(list.condition);

  const current = new Map((nodeENI.status?.conditions ?? []).map((c) => [c.type, c]));
  const conditions = drafts.map((d): Condition => {
    const prev = current.get(d.type);
    // Kubernetes convention: lastTransitionTime moves only when the status flips.
    const lastTransitionTime = prev && prev.status === d.status ? prev.lastTransitionTime : now;
    return { ...d, lastTransitionTime, observedGeneration: generation };
  });
  return {
    conditions,
    observedGeneration: generation,
    ready: `${readyCount}/${desiredCount}`,
    readyCount,
    desiredCount,
    nodeCount,
    ...(list ? { attachments: list.attachments } : {}),
  };
}

function sameCondition(a: Condition, b: Condition): boolean {
  return (
    a.type === b.type &&
    a.status === b.status &&
    a.reason === b.reason &&
    a.message === b.message &&
    a.lastTransitionTime === b.lastTransitionTime &&
    (a.observedGeneration ?? undefined) === (b.observedGeneration ?? undefined)
  );
}

/** True when writing `next` would change what the object holds (so an unchanged status costs no write). */
export function statusChanged(current: NodeENI['status'], next: WatcherStatus): boolean {
  const cur = current ?? {};
  if (cur.observedGeneration !== next.observedGeneration) return true;
  if (cur.ready !== next.ready || cur.readyCount !== next.readyCount) return true;
  if (cur.desiredCount !== next.desiredCount || cur.nodeCount !== next.nodeCount) return true;
  if (next.attachments && JSON.stringify(cur.attachments ?? []) !== JSON.stringify(next.attachments)) return true;
  const curConds = new Map((cur.conditions ?? []).map((c) => [c.type, c]));
  if (curConds.size !== next.conditions.length) return true;
  return next.conditions.some((c) => {
    const prev = curConds.get(c.type);
    return !prev || !sameCondition(prev, c);
  });
}

/** True when the NodeENI already reports InvalidSpec for its current generation (its Warning was emitted). */
export function invalidSpecReported(n: NodeENI): boolean {
  const d = (n.status?.conditions ?? []).find((c) => c.type === CONDITION_DEGRADED);
  return d?.reason === REASONS.InvalidSpec && d.observedGeneration === (n.metadata.generation ?? 0);
}
