// Kubernetes activities: the pair's status entries by server-side apply (one field manager per pair, so
// workflows on different nodes never overwrite each other), and Events on the NodeENI.
import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, EVENT_SOURCE, NODEENI_API_VERSION, NODEENI_KIND, NODEENI_PLURAL, pairFieldManager } from '../common/names.js';
import type { AttachmentStatus } from '../common/nodeeni.js';

export interface KubeActivityDeps {
  kc: KubeConfig;
  /** Namespace for Events of the cluster-scoped NodeENI (kubectl describe looks in `default`). */
  eventNamespace?: string;
  /** Identifies this controller instance in Events. */
  instance?: string;
}

export interface PairStatusInput {
  nodeENI: string;
  nodeName: string;
  /** The complete set of this pair's entries: entries left out are removed by server-side apply. */
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

export function eventName(nodeENI: string, key: string): string {
  return `${nodeENI.slice(0, 200)}.${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}

export function createKubeActivities(deps: KubeActivityDeps) {
  const custom = deps.kc.makeApiClient(CustomObjectsApi);
  const core = deps.kc.makeApiClient(CoreV1Api);
  const ns = deps.eventNamespace ?? 'default';

  return {
    /** Applies this pair's attachments; returns false when the NodeENI no longer exists. */
    async applyPairStatus(input: PairStatusInput): Promise<boolean> {
      try {
        await custom.patchClusterCustomObjectStatus(
          {
            group: API_GROUP,
            version: API_VERSION,
            plural: NODEENI_PLURAL,
            name: input.nodeENI,
            body: { apiVersion: NODEENI_API_VERSION, kind: NODEENI_KIND, metadata: { name: input.nodeENI }, status: { attachments: input.attachments } },
            fieldManager: pairFieldManager(input.nodeName),
            force: true,
          },
          setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
        );
        return true;
      } catch (err) {
        if (httpCode(err) === 404) return false;
        throw kubeFailure('apply NodeENI status', err);
      }
    },

    /** Writes an Event on the NodeENI; the same key twice writes one Event. */
    async emitEvent(input: EventInput): Promise<void> {
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
    },
  };
}

export type KubeActivities = ReturnType<typeof createKubeActivities>;
