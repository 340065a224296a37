// Kubernetes activities: each pair's NodeENIAttachment object (one per NodeENI and node, written only by that pair,
// so no pair waits on or conflicts with another), and Events on the NodeENI.
import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, EVENT_SOURCE, NODEENI_API_VERSION, NODEENI_KIND, FIELD_MANAGER_CONTROLLER } from '../common/names.js';
import { NODEENI_ATTACHMENT_PLURAL, attachmentObjectName, pairObjectContent, pairObjectManifest } from '../common/nodeeni-attachment.js';
import type { AttachmentStatus } from '../common/nodeeni.js';

export interface KubeActivityDeps {
  kc: KubeConfig;
  /** Namespace for Events of the cluster-scoped NodeENI (kubectl describe looks in `default`). */
  eventNamespace?: string;
  /** Identifies this controller instance in Events. */
  instance?: string;
  /** Called after a pair's status was written (metrics). */
  onPairStatus?: (input: PairStatusInput) => void;
}

export interface PairStatusInput {
  nodeENI: string;
  nodeName: string;
  /** The NodeENI's uid (the object's owner). */
  uid: string;
  /** The NodeENI generation the pair works on. */
  generation?: number;
  /** The complete set of this pair's entries (nodeID = nodeName): the node's entries left out are removed. */
  attachments: AttachmentStatus[];
}

export interface EventInput {
  nodeENI: string;
  uid: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  /** Identifies the occurrence, so a retried activity does not write the Event twice. */
  key: string;
}

function httpCode(err: unknown): number | undefined {
  const c = (err as { code?: unknown }).code;
  return typeof c === 'number' ? c : undefined;
}

/** 4xx other than 408/429 cannot be fixed by retrying; the rest can. */
function kubeFailure(action: string, err: unknown): Error {
  const code = httpCode(err);
  const body = (err as { body?: unknown }).body;
  const detail = typeof body === 'string' ? body.slice(0, 500) : (err as Error).message;
  const message = `${action}: HTTP ${code ?? '?'}: ${detail}`;
  if (code !== undefined && code >= 400 && code < 500 && code !== 408 && code !== 429) {
    return ApplicationFailure.nonRetryable(message, `Kubernetes${code}`);
  }
  return ApplicationFailure.retryable(message, `Kubernetes${code ?? 'Error'}`);
}

/** A pair's report: its status entries (when they changed) and the Events of the steps since the last one. */
export interface PairReportInput {
  status?: PairStatusInput;
  events?: EventInput[];
}

export function eventName(nodeENI: string, key: string): string {
  return `${nodeENI.slice(0, 200)}.${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}

/** A Node's spec.providerID from the apiserver (null: no such Node). A list by name: the controller's role lists Nodes. */
export function kubeProviderIdLookup(kc: KubeConfig): (nodeName: string) => Promise<string | null | undefined> {
  const core = kc.makeApiClient(CoreV1Api);
  return async (nodeName) => {
    const r = await core.listNode({ fieldSelector: `metadata.name=${nodeName}` });
    // By exact name: a name carrying selector syntax (`a,metadata.name!=b`) must not pick another Node.
    const node = r.items.find((n) => n.metadata?.name === nodeName);
    return node ? (node.spec?.providerID ?? undefined) : null;
  };
}

export function createKubeActivities(deps: KubeActivityDeps) {
  const custom = deps.kc.makeApiClient(CustomObjectsApi);
  const core = deps.kc.makeApiClient(CoreV1Api);
  const ns = deps.eventNamespace ?? 'default';
  const attachmentRef = { group: API_GROUP, version: API_VERSION, plural: NODEENI_ATTACHMENT_PLURAL };
  /** Object name → its Ready condition as last written by this process (lastTransitionTime moves only on a flip). */
  const lastReady = new Map<string, { status: string; lastTransitionTime: string }>();
  const rememberReady = (name: string, c: { status: string; lastTransitionTime: string } | undefined) => {
    lastReady.delete(name);
    if (c) lastReady.set(name, { status: c.status, lastTransitionTime: c.lastTransitionTime });
    if (lastReady.size > 20000) lastReady.delete(lastReady.keys().next().value!);
  };

  /**
   * Writes the pair's object whole: a merge patch (it replaces the lists), or a create owned by the NodeENI when
   * there is none; an empty set deletes it. Idempotent: the same input twice leaves the same object.
   */
  async function writePairObject(input: PairStatusInput): Promise<boolean> {
    const name = attachmentObjectName(input.nodeENI, input.nodeName);
    if (input.attachments.length === 0) {
      await custom.deleteClusterCustomObject({ ...attachmentRef, name }).catch((err: unknown) => {
        if (httpCode(err) !== 404) throw err;
      });
      lastReady.delete(name);
      return true;
    }
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const content = pairObjectContent({ ...input, now, previousReady: lastReady.get(name) });
    const spec = { nodeENI: input.nodeENI, nodeName: input.nodeName };
    /** The merge patch; false when there is no object to patch. */
    const patch = async (): Promise<boolean> => {
      try {
        await custom.patchClusterCustomObject(
          { ...attachmentRef, name, body: { metadata: { labels: content.labels }, spec, status: content.status }, fieldManager: FIELD_MANAGER_CONTROLLER },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
        return true;
      } catch (err) {
        if (httpCode(err) === 404) return false;
        throw err;
      }
    };
    /** The create, owned by the NodeENI; 'exists' when there is one already. */
    const create = async (): Promise<'created' | 'exists'> => {
      try {
        await custom.createClusterCustomObject({ ...attachmentRef, body: pairObjectManifest(input.nodeENI, input.uid, input.nodeName, content), fieldManager: FIELD_MANAGER_CONTROLLER });
        return 'created';
      } catch (err) {
        if (httpCode(err) === 409) return 'exists';
        throw err;
      }
    };
    // One request in the usual cases: a patch of an object this process wrote, a create of one it has not seen (a
    // new pair); otherwise (a restart, a retried attempt) the other follows.
    if (!(lastReady.has(name) && (await patch()))) {
      const created = await create();
      if (created === 'exists' && !(await patch())) throw new Error(`NodeENIAttachment ${name} was deleted while it was written`);
    }
    rememberReady(name, content.status.conditions?.[0]);
    return true;
  }

  async function applyPairStatus(input: PairStatusInput): Promise<boolean> {
    try {
      const exists = await writePairObject(input);
      deps.onPairStatus?.(input);
      return exists;
    } catch (err) {
      throw kubeFailure('write NodeENIAttachment', err);
    }
  }

  async function emitEvent(input: EventInput): Promise<void> {
    const now = new Date();
    try {
      await core.createNamespacedEvent({
        namespace: ns,
        body: {
          metadata: { name: eventName(input.nodeENI, input.key), namespace: ns },
          involvedObject: { apiVersion: NODEENI_API_VERSION, kind: NODEENI_KIND, name: input.nodeENI, uid: input.uid },
          type: input.type,
          reason: input.reason,
          message: input.message.slice(0, 1024),
          source: { component: EVENT_SOURCE },
          reportingComponent: EVENT_SOURCE,
          reportingInstance: deps.instance ?? EVENT_SOURCE,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch (err) {
      if (httpCode(err) === 409) return;
      throw kubeFailure('create Event', err);
    }
  }

  return {
    /**
     * One activity for what a converge pass reports: the status entries, then the Events (each keyed, so a
     * retry writes none twice). Returns false when the NodeENI no longer exists.
     */
    async reportPair(input: PairReportInput): Promise<boolean> {
      const exists = input.status ? await applyPairStatus(input.status) : true;
      if (exists) for (const e of input.events ?? []) await emitEvent(e);
      return exists;
    },
  };
}

export type KubeActivities = ReturnType<typeof createKubeActivities>;
