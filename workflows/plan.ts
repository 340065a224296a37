// Pure decisions of the lifecycle workflow: device indexes, what the node agent must (re)do, the status
// the user sees and the pair's overall phase. Deterministic and free of I/O, so tests call them directly.
import type { AttachmentStatus, AttachmentPhase, NodeENISpec } from '../common/nodeeni.js';
import { dpdkEnabled } from '../common/spec-fields.js';
import type { EniRecord, DesiredPair } from '../common/lifecycle-contract.js';
import type { EniInfo, ResolvedSubnet } from '../common/ec2-contract.js';
import type { ConfigureInterfaceInput, ConfigureInterfaceResult } from '../common/node-agent-contract.js';
import { isLiveAttachment } from '../common/error-types.js';
import { addressStatus, type EniAddresses } from '../common/eni-addresses.js';

/**
 * Device index for each subnet position: deviceIndex + position, bumped past indexes in use on the
 * instance (by other ENIs) and past those already chosen for earlier subnets. A position whose ENI stays where it
 * is attached (`staying`) keeps its index, and no other position is planned onto it.
 */
export function planDeviceIndexes(base: number, count: number, used: Iterable<number>, staying: readonly (number | undefined)[] = []): number[] {
  const taken = new Set([...used, ...staying.filter((i): i is number => i !== undefined)]);
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const stays = staying[i];
    if (stays !== undefined) {
      out.push(stays);
      continue;
    }
    let idx = base + i;
    while (taken.has(idx)) idx++;
    taken.add(idx);
    out.push(idx);
  }
  return out;
}

/** What the node agent is asked to do; a change of any part reconfigures the interface. */
export function configureKey(spec: NodeENISpec, macAddress: string): string {
  const dpdk = dpdkEnabled(spec);
  return JSON.stringify([macAddress, spec.mtu ?? 0, dpdk, dpdk ? spec.dpdkDriver : '', spec.dpdkPCIAddress ?? '', spec.dpdkResourceName ?? '']);
}

/** What the node agent is asked to configure for this ENI, from the spec as it is now. */
export function configureRequest(desired: DesiredPair, r: EniRecord): ConfigureInterfaceInput {
  const spec = desired.spec;
  return {
    nodeENI: desired.nodeENI,
    eniId: r.eniId!,
    macAddress: r.macAddress!,
    deviceIndex: r.deviceIndex ?? 0,
    ...(spec.mtu ? { mtu: spec.mtu } : {}),
    ...(dpdkEnabled(spec) ? { dpdk: { driver: spec.dpdkDriver, ...(spec.dpdkPCIAddress ? { pciAddress: spec.dpdkPCIAddress } : {}) } } : {}),
    ...(spec.dpdkResourceName ? { resourceName: spec.dpdkResourceName } : {}),
  };
}

/** The record's fields after the node agent configured it (`key`: the configureKey it was asked for). */
export function configuredFields(res: ConfigureInterfaceResult, key: string): Partial<EniRecord> {
  return { interfaceName: res.interfaceName, pciAddress: res.pciAddress, mtuApplied: res.mtu, dpdkBound: res.dpdkBound, dpdkDriver: res.dpdkDriver, configuredKey: key, message: undefined };
}

/** The ENIConfigured Event's text. */
export function configuredMessage(where: string, res: ConfigureInterfaceResult): string {
  return `Node agent configured ${where} as ${res.interfaceName ?? res.pciAddress ?? 'device'}${res.mtu ? ` with MTU ${res.mtu}` : ''}${res.dpdkBound ? ` bound to ${res.dpdkDriver}` : ''}`;
}

/** The Go controller's coarse `status` value for each phase (its tooling greps for "attached"). */
export function coarseStatus(phase: AttachmentPhase): string {
  switch (phase) {
    case 'Ready':
    case 'WaitingForNodeAgent':
    case 'Configuring':
      return 'attached';
    case 'Releasing':
      return 'detaching';
    case 'Failed':
      return 'failed';
    default:
      return 'attaching';
  }
}

/** Status entries of one pair, as server-side apply receives them (without timestamps). */
export function attachmentStatuses(desired: DesiredPair, enis: EniRecord[]): AttachmentStatus[] {
  const spec = desired.spec;
  const dpdk = dpdkEnabled(spec);
  return enis.map((e) => {
    const s: AttachmentStatus = {
      nodeID: desired.nodeName,
      subnetID: e.subnetId,
      instanceID: desired.instanceId,
      status: coarseStatus(e.phase),
      phase: e.phase,
    };
    if (e.eniId) s.eniID = e.eniId;
    if (e.attachmentId) s.attachmentID = e.attachmentId;
    if (e.subnetCidr) s.subnetCIDR = e.subnetCidr;
    if (e.securityGroupIds) s.securityGroupIDs = e.securityGroupIds;
    if (e.deviceIndex !== undefined) s.deviceIndex = e.deviceIndex;
    if (e.deleteOnTermination !== undefined) s.deleteOnTermination = e.deleteOnTermination;
    // Only when the spec sets it: the status of every other NodeENI stays exactly as it was.
    if (spec.sourceDestCheck !== undefined && e.sourceDestCheck !== undefined) s.sourceDestCheck = e.sourceDestCheck;
    if (e.macAddress) s.macAddress = e.macAddress;
    Object.assign(s, addressStatus(spec, e));
    if (e.interfaceName) s.interfaceName = e.interfaceName;
    if (e.mtuApplied !== undefined) s.mtu = e.mtuApplied;
    else if (spec.mtu) s.mtu = spec.mtu;
    if (e.message) s.message = e.message;
    if (dpdk || e.dpdkBound) {
      s.dpdkBound = e.dpdkBound ?? false;
      s.dpdkDriver = e.dpdkDriver ?? spec.dpdkDriver;
    }
    if (spec.dpdkResourceName) s.dpdkResourceName = spec.dpdkResourceName;
    if (e.pciAddress ?? spec.dpdkPCIAddress) s.dpdkPCIAddress = e.pciAddress ?? spec.dpdkPCIAddress;
    return s;
  });
}

/** The pair's phase for the EniPhase search attribute: the least advanced ENI, Failed first. */
export function pairPhase(enis: EniRecord[]): string {
  if (enis.length === 0) return 'Pending';
  if (enis.some((e) => e.phase === 'Failed')) return 'Failed';
  const order: AttachmentPhase[] = ['Pending', 'Creating', 'Attaching', 'WaitingForNodeAgent', 'Configuring', 'Releasing', 'Ready'];
  let min = order.length - 1;
  for (const e of enis) min = Math.min(min, Math.max(0, order.indexOf(e.phase)));
  return order[min]!;
}

/** Key of the last status written, so an unchanged status is not written again. */
export function statusKey(entries: AttachmentStatus[]): string {
  return JSON.stringify(entries);
}

/** Whether two desired states differ in anything the workflow acts on. */
export function desiredChanged(a: DesiredPair, b: DesiredPair): boolean {
  return a.instanceId !== b.instanceId || a.uid !== b.uid || JSON.stringify(a.spec) !== JSON.stringify(b.spec);
}

export { isLiveAttachment };

/** The fields of a record that describe an attachment, cleared when EC2 no longer has it. */
const NO_ATTACHMENT = { attachmentId: undefined, instanceId: undefined, requestedIndex: undefined, configuredKey: undefined } as const;

/**
 * What EC2 reports wins over what the workflow remembers: an ENI deleted behind its back is redone, one
 * detached is re-attached. Returns new records; the input is not changed.
 */
export function mergeEc2View(records: readonly EniRecord[], owned: readonly EniInfo[]): EniRecord[] {
  return records.map((r) => {
    if (!r.eniId) return { ...r };
    const found = owned.find((e) => e.eniId === r.eniId);
    if (!found) return { ...r, ...NO_ATTACHMENT, eniId: undefined, macAddress: undefined, createdHere: undefined, phase: 'Pending' };
    const a = found.attachment;
    const attachment = a && isLiveAttachment(a) ? { attachmentId: a.attachmentId, instanceId: a.instanceId, deviceIndex: a.deviceIndex } : NO_ATTACHMENT;
    return {
      ...r,
      ...attachment,
      macAddress: found.macAddress ?? r.macAddress,
      ...(found.sourceDestCheck !== undefined ? { sourceDestCheck: found.sourceDestCheck } : {}),
      ...addressesOf(found),
    };
  });
}

/** The addresses EC2 reports, replacing the record's (an answer recorded before they were read carries none). */
function addressesOf(found: EniAddresses): EniAddresses {
  if (found.privateIp === undefined) return {};
  return { privateIp: found.privateIp, secondaryIps: found.secondaryIps, prefixes: found.prefixes };
}

/** A record for an ENI found by tags: its identity and, when live, its attachment. */
export function adoptedRecord(found: EniInfo, base: EniRecord = { subnetId: found.subnetId, phase: 'Pending' }): EniRecord {
  const a = found.attachment;
  return {
    ...base,
    eniId: found.eniId,
    macAddress: found.macAddress,
    securityGroupIds: found.securityGroupIds,
    ...(found.sourceDestCheck !== undefined ? { sourceDestCheck: found.sourceDestCheck } : {}),
    ...addressesOf(found),
    createdHere: false,
    ...(a && isLiveAttachment(a) ? { attachmentId: a.attachmentId, instanceId: a.instanceId, deviceIndex: a.deviceIndex } : {}),
  };
}

/** What EC2 and the resolved spec say about a pair, as one converge pass reads them. */
export interface PairView {
  subnets: readonly ResolvedSubnet[];
  owned: readonly EniInfo[];
  usedDeviceIndexes: readonly number[];
}

export interface PairPlan {
  /** One record per resolved subnet, in the spec's order (device indexes follow it). */
  records: EniRecord[];
  /** ENIs found by tags that this pass takes over: tag them first (kept in `records`, or released in `unwanted`). */
  adopt: { record: EniRecord; found: EniInfo; kept: boolean }[];
  /** ENIs of subnets no longer asked for, and duplicates of a subnet: released. */
  unwanted: EniRecord[];
  /** The device index planned for each record. */
  planned: number[];
  /** Indexes other ENIs hold on the instance (the planned ones included), for moving past a conflict. */
  used: number[];
}

/**
 * One converge pass's plan: merge EC2's view into the records, adopt ENIs found by tags for subnets without
 * one, release what the spec no longer names, and plan device indexes. Pure and deterministic.
 */
export function planPair(current: readonly EniRecord[], view: PairView, instanceId: string, baseIndex: number): PairPlan {
  const wanted = (subnetId: string) => view.subnets.some((s) => s.id === subnetId);
  // Placeholders from a failed resolve (no ENI, subnet not resolved) are replaced by the real subnets.
  let records = mergeEc2View(current.filter((e) => e.eniId || wanted(e.subnetId)), view.owned);
  const adopt: PairPlan['adopt'] = [];
  const unwanted: EniRecord[] = [];
  for (const found of view.owned) {
    if (records.some((r) => r.eniId === found.eniId)) continue;
    const free = records.find((r) => r.subnetId === found.subnetId && !r.eniId);
    const kept = wanted(found.subnetId) && (free !== undefined || !records.some((r) => r.subnetId === found.subnetId));
    const record = adoptedRecord(found, kept && free ? free : undefined);
    if (kept) records = free ? records.map((r) => (r === free ? record : r)) : [...records, record];
    else unwanted.push(record);
    adopt.push({ record, found, kept });
  }
  unwanted.push(...records.filter((r) => !wanted(r.subnetId)));
  const freed = new Set(unwanted.filter((r) => r.attachmentId && r.instanceId === instanceId && r.deviceIndex !== undefined).map((r) => r.deviceIndex!));
  const ordered = view.subnets.map((s) => ({ ...(records.find((r) => r.subnetId === s.id) ?? { subnetId: s.id, phase: 'Pending' as const }), subnetCidr: s.cidr }));
  // Indexes held by kept ENIs are theirs to keep; those of ENIs released in this pass are free again.
  const mine = new Set(ordered.filter((r) => r.attachmentId && r.instanceId === instanceId).map((r) => r.deviceIndex));
  const others = view.usedDeviceIndexes.filter((i) => !mine.has(i) && !freed.has(i));
  // An ENI attached where its position asks stays at its index; the others are planned around it.
  const staying = ordered.map((r, pos) => (attachedAsRequested(r, instanceId, baseIndex + pos) ? r.deviceIndex : undefined));
  const planned = planDeviceIndexes(baseIndex, ordered.length, others, staying);
  return { records: ordered, adopt, unwanted, planned, used: [...new Set([...others, ...planned])] };
}

/** Whether the ENI's security groups differ from the resolved ones (order does not matter). */
export function securityGroupsDiffer(r: EniRecord, wanted: readonly string[]): boolean {
  return JSON.stringify([...wanted].sort()) !== JSON.stringify([...(r.securityGroupIds ?? [])].sort());
}

/**
 * Whether the ENI is attached where this position asks. An adopted ENI already on this instance at or past the
 * index asked for stays where it is: that is where a bump past taken indexes would have put it.
 */
export function attachedAsRequested(r: EniRecord, instanceId: string, requested: number): boolean {
  if (!r.attachmentId || r.instanceId !== instanceId) return false;
  if (r.requestedIndex === undefined) return (r.deviceIndex ?? -1) >= requested;
  return r.requestedIndex === requested;
}

/** The next index to try after `taken` proved to be held by someone else; records it as used. */
export function nextFreeIndex(taken: number, used: Set<number>): number {
  used.add(taken);
  let i = taken;
  while (used.has(i)) i++;
  used.add(i);
  return i;
}

/** What the pair does when a converge pass has finished. */
export type NextStep = { kind: 'rest' } | { kind: 'retry'; delayMs: number; why: 'failed' | 'node agent' | 'device slot' };

/** Waits for the node agent grow from 30 s to 10 min while it does not answer. */
export const AGENT_BACKOFF_MS = [30_000, 60_000, 120_000, 300_000, 600_000] as const;
/** A failed ENI is retried on a growing backoff: limits and free addresses change without a spec edit. */
export const FAILED_BACKOFF_MS = [60_000, 300_000, 900_000, 1_800_000, 3_600_000] as const;

/**
 * Looks for a free slot on a full instance grow from 10 s to 1 min: a slot frees when another NodeENI leaves the
 * node, which sends this pair no signal, and the user waits for it.
 */
export const SLOT_BACKOFF_MS = [10_000, 20_000, 40_000, 60_000] as const;

/**
 * After a pass: retry a failure on its backoff, look again for a device slot, wait for an absent node agent, or
 * rest until a signal.
 */
export function nextStep(enis: readonly EniRecord[], failedRetries: number, agentRetries: number, slotRetries = 0): NextStep {
  if (enis.some((e) => e.phase === 'Failed')) return { kind: 'retry', why: 'failed', delayMs: FAILED_BACKOFF_MS[Math.min(failedRetries, FAILED_BACKOFF_MS.length - 1)]! };
  if (enis.some((e) => e.waitingForSlot)) return { kind: 'retry', why: 'device slot', delayMs: SLOT_BACKOFF_MS[Math.min(slotRetries, SLOT_BACKOFF_MS.length - 1)]! };
  if (agentRetries > 0) return { kind: 'retry', why: 'node agent', delayMs: AGENT_BACKOFF_MS[Math.min(agentRetries - 1, AGENT_BACKOFF_MS.length - 1)]! };
  return { kind: 'rest' };
}
