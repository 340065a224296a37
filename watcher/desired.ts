// Pure logic of the watcher: which (NodeENI, node) pairs the cluster wants, and which signals turn the
// last known state into that intent. No I/O here, so every decision is unit-tested.
import { createHash } from 'node:crypto';
import { lifecycleWorkflowId, parseLifecycleWorkflowId } from '../common/names.js';
import { parseSpec, type NodeENI } from '../common/nodeeni.js';
import type { DesiredPair } from '../common/lifecycle-contract.js';
import { instanceIdFromProviderID } from '../common/provider-id.js';

export { instanceIdFromProviderID };

/** The few fields of a Node the watcher reads (a V1Node fits). */
export interface NodeLike {
  metadata?: { name?: string; labels?: Record<string, string>; deletionTimestamp?: Date | string };
  spec?: { providerID?: string };
}

/** Equality-based selector as in a Pod's nodeSelector: every pair must match; an empty selector matches all. */
export function selectorMatches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  const have = labels ?? {};
  return Object.entries(selector ?? {}).every(([k, v]) => have[k] === v);
}

function deleting(meta: { deletionTimestamp?: Date | string } | undefined): boolean {
  return meta?.deletionTimestamp !== undefined && meta.deletionTimestamp !== null;
}

/** The state of one NodeENI as far as the plan is concerned. */
export type NodeENIState = 'live' | 'deleting' | 'invalid';

export function nodeENIState(n: NodeENI): NodeENIState {
  if (deleting(n.metadata)) return 'deleting';
  return parseSpec(n.spec).ok ? 'live' : 'invalid';
}

/**
 * Every pair the cluster wants, keyed by workflow ID: each NodeENI that is not being deleted and whose spec
 * is valid, times each Node that matches its selector, has an instance ID and is not being deleted.
 */
export function desiredPairs(nodeENIs: readonly NodeENI[], nodes: readonly NodeLike[]): Map<string, DesiredPair> {
  const out = new Map<string, DesiredPair>();
  for (const n of nodeENIs) {
    if (deleting(n.metadata)) continue;
    const parsed = parseSpec(n.spec);
    if (!parsed.ok) continue;
    for (const node of nodes) {
      const nodeName = node.metadata?.name;
      if (!nodeName || deleting(node.metadata)) continue;
      const instanceId = instanceIdFromProviderID(node.spec?.providerID);
      if (!instanceId) continue;
      if (!selectorMatches(parsed.spec.nodeSelector, node.metadata?.labels)) continue;
      out.set(lifecycleWorkflowId(n.metadata.name, nodeName), {
        nodeENI: n.metadata.name,
        nodeName,
        uid: n.metadata.uid ?? '',
        generation: n.metadata.generation ?? 0,
        instanceId,
        spec: parsed.spec,
      });
    }
  }
  return out;
}

/** JSON with object keys sorted, so equal values hash equally whatever the key order. */
function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** A hash of what the workflow acts on: an unchanged key means no signal is sent. */
export function pairKey(d: DesiredPair): string {
  return createHash('sha256')
    .update(stableJson({ spec: d.spec, instanceId: d.instanceId, generation: d.generation, uid: d.uid }))
    .digest('hex')
    .slice(0, 32);
}

/** Pairs a NodeENI's status says exist: one per node that has an entry in status.attachments. */
export function pairsFromStatus(n: NodeENI): string[] {
  const nodes = new Set((n.status?.attachments ?? []).map((a) => a.nodeID).filter((x) => x));
  return [...nodes].map((node) => lifecycleWorkflowId(n.metadata.name, node));
}

export interface PlanInput {
  /** From desiredPairs(). */
  desired: ReadonlyMap<string, DesiredPair>;
  /** Workflow ID → pairKey this process last sent successfully. */
  sent: ReadonlyMap<string, string>;
  /** Workflow IDs that may have a workflow: status entries, running workflows, pairs this process signalled. */
  known: Iterable<string>;
  /** Workflow IDs that were already told to release (or found gone): not released again. */
  released?: ReadonlySet<string>;
  /** The NodeENIs and Nodes in the caches, to tell why a pair is not desired any more. */
  nodeENIs?: readonly NodeENI[];
  nodes?: readonly NodeLike[];
  /**
   * Release pairs whose NodeENI is not in the cache (e.g. its finalizer was removed by hand, or it was deleted
   * between a stale cache's signal and the finalizer). Only safe when the watcher sees every NodeENI: a watcher
   * scoped by a label selector cannot tell "absent" from "out of scope" from its cache, and passes `confirmedGone`.
   */
  releaseOrphans?: boolean;
  /** NodeENIs the apiserver answered 404 for: gone whatever the selector, so their pairs are released. */
  confirmedGone?: ReadonlySet<string>;
}

export interface PlannedRelease {
  workflowId: string;
  nodeENI: string;
  nodeName: string;
  reason: string;
}

export interface Plan {
  /** New or changed pairs: signalWithStart `spec`. */
  signals: DesiredPair[];
  /** Desired pairs whose release was sent in this process: wait for that run to finish before starting anew. */
  blocked: DesiredPair[];
  releases: PlannedRelease[];
}

/** Why a known pair is not desired; undefined when it must be left alone (invalid spec, or out of scope). */
export function releaseReason(
  nodeENIName: string,
  nodeName: string,
  nodeENIs: ReadonlyMap<string, NodeENI>,
  nodes: ReadonlyMap<string, NodeLike>,
  releaseOrphans: boolean,
  confirmedGone: ReadonlySet<string> = new Set(),
): string | undefined {
  const n = nodeENIs.get(nodeENIName);
  if (!n) return releaseOrphans || confirmedGone.has(nodeENIName) ? `NodeENI ${nodeENIName} no longer exists` : undefined;
  const state = nodeENIState(n);
  if (state === 'deleting') return `NodeENI ${nodeENIName} is being deleted`;
  // An invalid spec freezes the NodeENI: nothing already attached is disturbed.
  if (state === 'invalid') return undefined;
  const node = nodes.get(nodeName);
  if (!node) return `node ${nodeName} was deleted`;
  if (deleting(node.metadata)) return `node ${nodeName} is being deleted`;
  if (!instanceIdFromProviderID(node.spec?.providerID)) return `node ${nodeName} has no AWS instance ID (spec.providerID)`;
  if (!selectorMatches((n.spec as { nodeSelector?: Record<string, string> }).nodeSelector, node.metadata?.labels)) {
    return `node ${nodeName} no longer matches the nodeSelector`;
  }
  // Matches in every respect yet not desired: only possible if the caches changed between the two calls.
  return undefined;
}

/** NodeENIs named by known pairs that the cache does not hold: the ones a scoped watcher must look up. */
export function missingNodeENIs(known: Iterable<string>, nodeENIs: readonly NodeENI[]): string[] {
  const have = new Set(nodeENIs.map((n) => n.metadata.name));
  const out = new Set<string>();
  for (const id of known) {
    const p = parseLifecycleWorkflowId(id);
    if (p && !have.has(p.nodeENI)) out.add(p.nodeENI);
  }
  return [...out].sort();
}

/** Turns desired state and what is known into the signals to send now. */
export function planReconcile(input: PlanInput): Plan {
  const released = input.released ?? new Set<string>();
  const nodeENIs = new Map((input.nodeENIs ?? []).map((n) => [n.metadata.name, n]));
  const nodes = new Map((input.nodes ?? []).flatMap((n) => (n.metadata?.name ? [[n.metadata.name, n] as const] : [])));
  const signals: DesiredPair[] = [];
  const blocked: DesiredPair[] = [];
  for (const [id, d] of input.desired) {
    if (input.sent.get(id) === pairKey(d)) continue;
    (released.has(id) ? blocked : signals).push(d);
  }
  const releases: PlannedRelease[] = [];
  const seen = new Set<string>();
  for (const id of input.known) {
    if (seen.has(id) || input.desired.has(id) || released.has(id)) continue;
    seen.add(id);
    const parsed = parseLifecycleWorkflowId(id);
    if (!parsed) continue;
    const reason = releaseReason(parsed.nodeENI, parsed.nodeName, nodeENIs, nodes, input.releaseOrphans ?? false, input.confirmedGone);
    if (reason) releases.push({ workflowId: id, ...parsed, reason });
  }
  const byId = (a: { nodeENI: string; nodeName: string }, b: { nodeENI: string; nodeName: string }) =>
    lifecycleWorkflowId(a.nodeENI, a.nodeName).localeCompare(lifecycleWorkflowId(b.nodeENI, b.nodeName));
  return { signals: signals.sort(byId), blocked: blocked.sort(byId), releases: releases.sort(byId) };
}
