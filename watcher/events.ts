// Kubernetes Events on a NodeENI (core/v1, what `kubectl describe nodeeni` shows). NodeENIs are cluster-scoped,
// so their Events live in one namespace (`default`, as kubectl looks there for cluster-scoped objects).
import { randomBytes } from 'node:crypto';
import type { CoreV1Api, CoreV1Event } from '@kubernetes/client-node';
import { EVENT_SOURCE, NODEENI_API_VERSION, NODEENI_KIND } from '../common/names.js';

export const EVENT_NAMESPACE = 'default';
/** The apiserver accepts longer messages, but events.k8s.io caps its `note` at 1 KiB; stay within it. */
const MAX_MESSAGE = 1024;

export interface EventObject {
  name: string;
  uid?: string;
}

export interface EventSpec {
  type: 'Normal' | 'Warning';
  /** UpperCamelCase, e.g. InvalidSpec, ENIAttached, ENICreationFailed. */
  reason: string;
  message: string;
  /** What was being done, e.g. Attach (optional). */
  action?: string;
}

export interface EventOptions {
  namespace?: string;
  component?: string;
  /** Which process wrote it (pod name), shown as reportingInstance and source.host. */
  instance?: string;
  now?: Date;
}

/** Pure: the Event object for a NodeENI. */
export function buildNodeENIEvent(target: EventObject, spec: EventSpec, opts: EventOptions = {}): CoreV1Event {
  const now = opts.now ?? new Date();
  const namespace = opts.namespace ?? EVENT_NAMESPACE;
  const component = opts.component ?? EVENT_SOURCE;
  const message = spec.message.length > MAX_MESSAGE ? `${spec.message.slice(0, MAX_MESSAGE - 1)}…` : spec.message;
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: {
      // kubectl's convention: <object>.<unique suffix>; names must stay under 253 characters.
      name: `${target.name.slice(0, 230)}.${now.getTime().toString(16)}${randomBytes(4).toString('hex')}`,
      namespace,
    },
    involvedObject: {
      apiVersion: NODEENI_API_VERSION,
      kind: NODEENI_KIND,
      name: target.name,
      ...(target.uid ? { uid: target.uid } : {}),
    },
    type: spec.type,
    reason: spec.reason,
    message,
    ...(spec.action ? { action: spec.action } : {}),
    source: { component, ...(opts.instance ? { host: opts.instance } : {}) },
    reportingComponent: component,
    ...(opts.instance ? { reportingInstance: opts.instance.slice(0, 128) } : {}),
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
}

/**
 * Writes an Event. Events are informational: a failure to write one is logged and swallowed, so it never fails
 * the operation it describes. Returns whether it was written.
 */
export async function recordNodeENIEvent(
  core: CoreV1Api,
  target: EventObject,
  spec: EventSpec,
  opts: EventOptions & { onError?: (err: unknown) => void } = {},
): Promise<boolean> {
  const body = buildNodeENIEvent(target, spec, opts);
  try {
    await core.createNamespacedEvent({ namespace: body.metadata.namespace!, body });
    return true;
  } catch (err) {
    (opts.onError ?? ((e) => console.warn(`event ${spec.reason} on NodeENI ${target.name} not written: ${String(e)}`)))(err);
    return false;
  }
}
