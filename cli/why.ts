// Gathers what `kubectl nodeeni why` explains: the NodeENI and its status, and for each of its nodes the pair
// workflow's description (pending activities, attempts, last failures) and its `state` query.
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';
import { QUERY_STATE, lifecycleWorkflowId } from '../common/names.js';
import { readNodeENI } from './nodeeni-read.js';
import type { PairState } from '../common/lifecycle-contract.js';
import { explainPair, formatExplanations, type PairFacts, type PendingActivity } from './explain.js';

// temporal.api.enums.v1.PendingActivityState
const ACTIVITY_STATES: Record<number, string> = { 1: 'SCHEDULED', 2: 'STARTED', 3: 'CANCEL_REQUESTED', 4: 'PAUSED', 5: 'PAUSE_REQUESTED' };

interface Timestamp {
  seconds?: { toNumber(): number } | number | null;
  nanos?: number | null;
}
const iso = (t: Timestamp | null | undefined): string | undefined => {
  if (!t?.seconds) return undefined;
  const s = typeof t.seconds === 'number' ? t.seconds : t.seconds.toNumber();
  return new Date(s * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString();
};

export interface WhyOptions {
  kc: KubeConfig;
  client: Client;
  namespace: string;
  /** The Temporal Web UI's base URL, for links to each pair's history. */
  webUi?: string;
}

export async function pairFacts(o: WhyOptions, nodeENI: string, node: string, entries: PairFacts['entries']): Promise<PairFacts> {
  const workflowId = lifecycleWorkflowId(nodeENI, node);
  const facts: PairFacts = { nodeENI, node, workflowId, pending: [], entries };
  if (o.webUi) facts.webUi = `${o.webUi.replace(/\/$/, '')}/namespaces/${o.namespace}/workflows/${encodeURIComponent(workflowId)}`;
  const handle = o.client.workflow.getHandle(workflowId);
  let d;
  try {
    d = await handle.describe();
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return facts;
    throw err;
  }
  facts.workflowStatus = d.status.name;
  facts.pending = (d.raw.pendingActivities ?? []).map((p): PendingActivity => {
    const a: PendingActivity = { type: p.activityType?.name ?? '?', attempt: p.attempt ?? 1, state: ACTIVITY_STATES[Number(p.state)] ?? String(p.state) };
    if (p.lastFailure?.message) a.lastFailure = p.lastFailure.message;
    const since = iso(p.lastStartedTime as Timestamp) ?? iso(p.scheduledTime as Timestamp);
    if (since) a.since = since;
    return a;
  });
  if (facts.workflowStatus === 'RUNNING') {
    const s = await handle.query<PairState>(QUERY_STATE).catch(() => undefined);
    if (s) facts.state = { phase: s.phase, converging: s.converging, releasing: s.releasing, ...(s.lastError ? { lastError: s.lastError } : {}) };
  }
  return facts;
}

/** The whole report for a NodeENI, or one node of it. */
export async function why(o: WhyOptions, name: string, onlyNode?: string): Promise<string> {
  const obj = await readNodeENI(o.kc.makeApiClient(CustomObjectsApi), name, onlyNode);
  const entries = obj.status?.attachments ?? [];
  const nodes = new Set(entries.map((e) => e.nodeID));
  // Pairs still running that have written nothing yet are found through Temporal (search attribute NodeENI).
  for await (const wf of o.client.workflow.list({ query: `NodeENI="${name}" AND ExecutionStatus="Running"` })) {
    const node = wf.searchAttributes?.NodeName;
    if (Array.isArray(node) && typeof node[0] === 'string') nodes.add(node[0]);
  }
  if (onlyNode) {
    nodes.clear();
    nodes.add(onlyNode);
  }
  const conditions = (obj.status?.conditions ?? []).map((c) => `${c.type}=${c.status} (${c.reason}): ${c.message}`);
  if (obj.status?.ready) conditions.unshift(`ready ${obj.status.ready}`);
  if (obj.metadata.deletionTimestamp) conditions.unshift(`being deleted since ${String(obj.metadata.deletionTimestamp)}`);
  const pairs = [];
  for (const n of [...nodes].sort()) {
    pairs.push(explainPair(await pairFacts(o, name, n, entries.filter((e) => e.nodeID === n))));
  }
  if (pairs.length === 0) conditions.push('no node has a lifecycle for it (does any Node match its nodeSelector?)');
  return formatExplanations(name, conditions, pairs);
}
