// Pure: the readiness gate. A startup taint that node groups / Karpenter NodePools put on new nodes keeps pods off
// a node until every NodeENI matching it is Ready there; a label says so for pods that select such nodes.
// This module decides, per Node, whether the taint must go and whether the label must be set or removed; the
// watcher only patches the Nodes it names (so an up-to-date node costs nothing but this computation).
//
// Rules:
//  - A NodeENI matches a node when its spec is valid, it is not being deleted and its nodeSelector matches the
//    node's labels (the same rule as the pairs, watcher/desired.ts).
//  - A matching NodeENI is Ready on a node when its status.attachments for that node (of the node's own instance)
//    are all Ready and as many as desired on that node (watcher/conditions.ts desiredOnNode). A Failed entry, e.g.
//    "no listed subnet is in <AZ>", is not Ready: the taint stays.
//  - A node with no matching NodeENI has no interface to wait for: its taint is removed, it gets no label (the
//    label promises interfaces; a node without any must not attract pods that need them).
//  - The taint is only ever removed, never added back: it is a start-up gate. The label follows the state both ways.
//  - Nodes being deleted, and nodes outside the gate's nodeSelector, are left alone.
import { parseSpec, subnetRefs, type AttachmentStatus, type NodeENI } from '../common/nodeeni.js';
import { instanceIdFromProviderID, nodeENIState, selectorMatches, type NodeLike } from './desired.js';
import { desiredOnNode, isFailed, isReady } from './conditions.js';

export const DEFAULT_TAINT_KEY = 'multi-eni.networking.k8s.aws/not-ready';
export const DEFAULT_TAINT_EFFECT = 'NoSchedule';
export const DEFAULT_LABEL = 'multi-eni.networking.k8s.aws/ready=true';

export interface Taint {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: Date | string;
}

/** The fields of a Node the gate reads (a V1Node fits). */
export interface GateNode extends NodeLike {
  metadata?: NodeLike['metadata'] & { resourceVersion?: string };
  spec?: NodeLike['spec'] & { taints?: Taint[] };
}

export interface ReadinessGate {
  /** Key of the startup taint removed once the node's interfaces are Ready (any effect). */
  taintKey: string;
  /** Label set on a node whose matching NodeENIs are all Ready. */
  labelKey: string;
  labelValue: string;
  /** Nodes the gate manages (equality-based, as a nodeSelector); empty = every node. */
  nodeSelector: Record<string, string>;
}

/** Why one matching NodeENI is not Ready on a node yet (for logs). */
export interface Waiting {
  nodeENI: string;
  state: 'pending' | 'failed';
  detail: string;
}

export interface NodeVerdict {
  /** NodeENIs that match the node. */
  matching: string[];
  waiting: Waiting[];
  /** Every matching NodeENI is Ready on the node (true when none matches). */
  allReady: boolean;
}

/** A change the watcher must make on one Node. */
export interface NodeChange {
  name: string;
  /** The node's resourceVersion the decision was made on (the patch is conditional on it). */
  resourceVersion?: string;
  removeTaint: boolean;
  /** `set`: add the label or correct its value; `remove`: delete it. */
  label?: 'set' | 'remove';
  verdict: NodeVerdict;
}

const MAX_LABEL_NAME = 63;
const LABEL_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Validates a qualified name (a label or taint key: optional DNS prefix, `/`, name); returns the reason or undefined. */
export function qualifiedNameError(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return 'has more than one "/"';
  const name = parts[parts.length - 1]!;
  const prefix = parts.length === 2 ? parts[0]! : undefined;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return `prefix "${prefix}" is not a DNS subdomain (lower case, at most 253 characters)`;
  if (name.length === 0 || name.length > MAX_LABEL_NAME || !LABEL_NAME.test(name)) {
    return `name "${name}" must be 1-63 characters of letters, digits, "-", "_" or ".", starting and ending with a letter or digit`;
  }
  return undefined;
}

/** Validates a label value; returns the reason or undefined. */
export function labelValueError(value: string): string | undefined {
  if (value.length > MAX_LABEL_NAME) return 'is longer than 63 characters';
  if (value !== '' && !LABEL_NAME.test(value)) return 'must be letters, digits, "-", "_" or ".", starting and ending with a letter or digit';
  return undefined;
}

/** Parses `key=value` (the label) for the gate; throws naming the setting and the reason. */
export function parseGateLabel(setting: string, s: string): { labelKey: string; labelValue: string } {
  const i = s.indexOf('=');
  if (i <= 0) throw new Error(`${setting}: "${s}" must be key=value, e.g. ${DEFAULT_LABEL}`);
  const labelKey = s.slice(0, i);
  const labelValue = s.slice(i + 1);
  const keyErr = qualifiedNameError(labelKey);
  if (keyErr) throw new Error(`${setting}: label key "${labelKey}" ${keyErr}`);
  const valErr = labelValueError(labelValue);
  if (valErr) throw new Error(`${setting}: label value "${labelValue}" ${valErr}`);
  return { labelKey, labelValue };
}

/** Parses `k=v,k2=v2` (equality-based node selector); throws naming the setting and the reason. */
export function parseGateNodeSelector(setting: string, s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const term of s.split(',').map((t) => t.trim()).filter(Boolean)) {
    const { labelKey, labelValue } = parseGateLabel(setting, term);
    out[labelKey] = labelValue;
  }
  return out;
}

/** A live NodeENI indexed once per pass: its selector, its subnets and its attachments by node. */
export interface IndexedNodeENI {
  name: string;
  selector: Record<string, string>;
  refs: { ids: readonly string[]; names: readonly string[] };
  byNode: ReadonlyMap<string, AttachmentStatus[]>;
}

/** Indexes the NodeENIs that can match a node (valid spec, not being deleted); the others are skipped. */
export function indexNodeENIs(nodeENIs: readonly NodeENI[]): IndexedNodeENI[] {
  const out: IndexedNodeENI[] = [];
  for (const n of nodeENIs) {
    if (nodeENIState(n) !== 'live') continue;
    const parsed = parseSpec(n.spec);
    if (!parsed.ok) continue;
    const byNode = new Map<string, AttachmentStatus[]>();
    for (const a of n.status?.attachments ?? []) {
      const list = byNode.get(a.nodeID);
      if (list) list.push(a);
      else byNode.set(a.nodeID, [a]);
    }
    out.push({ name: n.metadata.name, selector: parsed.spec.nodeSelector ?? {}, refs: subnetRefs(parsed.spec), byNode });
  }
  return out;
}

/** How one NodeENI stands on one node: Ready, still pending, or failed (kept out until someone fixes it). */
export function readinessOn(n: IndexedNodeENI, nodeName: string, instanceId: string | undefined): { state: 'ready' | 'pending' | 'failed'; detail: string } {
  if (!instanceId) return { state: 'pending', detail: 'the node has no AWS instance ID (spec.providerID) yet' };
  // Only the entries of this node's instance count: a node name reused by a new instance starts from nothing.
  const entries = (n.byNode.get(nodeName) ?? []).filter((a) => !a.instanceID || a.instanceID === instanceId);
  const live = entries.filter((a) => a.phase !== 'Releasing');
  const failed = live.filter(isFailed);
  if (failed.length > 0) return { state: 'failed', detail: describe(failed[0]!) };
  const desired = desiredOnNode(n.refs, live);
  const ready = new Set(live.filter(isReady).map((a) => a.subnetID)).size;
  if (desired > 0 && ready >= desired && live.every(isReady)) return { state: 'ready', detail: `${ready}/${desired} attachments Ready` };
  return { state: 'pending', detail: `${ready}/${desired} attachments Ready` };
}

function describe(a: AttachmentStatus): string {
  return `subnet ${a.subnetID || '(none)'}: ${a.message ?? 'failed'}`;
}

/** The NodeENIs that match a node and how each stands there. */
export function nodeVerdict(indexed: readonly IndexedNodeENI[], node: GateNode): NodeVerdict {
  const name = node.metadata?.name ?? '';
  const instanceId = instanceIdFromProviderID(node.spec?.providerID);
  const matching: string[] = [];
  const waiting: Waiting[] = [];
  for (const n of indexed) {
    if (!selectorMatches(n.selector, node.metadata?.labels)) continue;
    matching.push(n.name);
    const r = readinessOn(n, name, instanceId);
    if (r.state !== 'ready') waiting.push({ nodeENI: n.name, state: r.state, detail: r.detail });
  }
  return { matching: matching.sort(), waiting, allReady: waiting.length === 0 };
}

export function hasTaint(node: GateNode, key: string): boolean {
  return (node.spec?.taints ?? []).some((t) => t.key === key);
}

/** What must change on one node, or undefined when its taint and label are up to date (or it is not the gate's). */
export function planNode(indexed: readonly IndexedNodeENI[], node: GateNode, gate: ReadinessGate): NodeChange | undefined {
  const name = node.metadata?.name;
  if (!name) return undefined;
  const del = node.metadata?.deletionTimestamp;
  if (del !== undefined && del !== null) return undefined;
  if (!selectorMatches(gate.nodeSelector, node.metadata?.labels)) return undefined;
  const verdict = nodeVerdict(indexed, node);
  const removeTaint = verdict.allReady && hasTaint(node, gate.taintKey);
  const wantLabel = verdict.allReady && verdict.matching.length > 0;
  const current = node.metadata?.labels?.[gate.labelKey];
  const label = wantLabel && current !== gate.labelValue ? 'set' : !wantLabel && current !== undefined ? 'remove' : undefined;
  if (!removeTaint && !label) return undefined;
  return { name, resourceVersion: node.metadata?.resourceVersion, removeTaint, ...(label ? { label } : {}), verdict };
}

/** Every node whose taint or label is out of date, by name. O(attachments + nodes × NodeENIs), no I/O. */
export function planReadinessGate(nodeENIs: readonly NodeENI[], nodes: readonly GateNode[], gate: ReadinessGate): NodeChange[] {
  const indexed = indexNodeENIs(nodeENIs);
  const out: NodeChange[] = [];
  for (const node of nodes) {
    const c = planNode(indexed, node, gate);
    if (c) out.push(c);
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The JSON merge patch making a change, conditional on the node's resourceVersion (a concurrent change fails with
 * 409 instead of being overwritten). Only the gate's taint and label are touched: the other taints are written back
 * as they were (a merge patch replaces the list), everything else is left out.
 */
export function gatePatch(node: GateNode, change: NodeChange, gate: ReadinessGate): Record<string, unknown> {
  const metadata: Record<string, unknown> = { resourceVersion: node.metadata?.resourceVersion };
  if (change.label) metadata.labels = { [gate.labelKey]: change.label === 'set' ? gate.labelValue : null };
  const patch: Record<string, unknown> = { metadata };
  if (change.removeTaint) patch.spec = { taints: (node.spec?.taints ?? []).filter((t) => t.key !== gate.taintKey) };
  return patch;
}

/** One line for the log: what changed on the node and why. */
export function describeChange(c: NodeChange, gate: ReadinessGate): string {
  const did = [c.removeTaint ? `taint ${gate.taintKey} removed` : '', c.label === 'set' ? `label ${gate.labelKey}=${gate.labelValue} set` : c.label === 'remove' ? `label ${gate.labelKey} removed` : '']
    .filter(Boolean)
    .join(', ');
  const why =
    c.verdict.matching.length === 0
      ? 'no NodeENI matches it'
      : c.verdict.allReady
        ? `every matching NodeENI is Ready on it (${c.verdict.matching.join(', ')})`
        : `waiting for ${c.verdict.waiting.map((w) => `${w.nodeENI} (${w.state}: ${w.detail})`).join('; ')}`;
  return `node ${c.name}: ${did}: ${why}`;
}
