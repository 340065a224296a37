// Pure decisions of the lifecycle workflow: device indexes, what the node agent must (re)do, the status
// the user sees and the pair's overall phase. Deterministic and free of I/O, so tests call them directly.
import type { AttachmentStatus, AttachmentPhase, NodeENISpec } from '../common/nodeeni.js';
import type { EniRecord, DesiredPair } from '../common/lifecycle-contract.js';

/**
 * Device index for each subnet position: deviceIndex + position, bumped past indexes in use on the
 * instance (by other ENIs) and past those already chosen for earlier subnets.
 */
export function planDeviceIndexes(base: number, count: number, used: Iterable<number>): number[] {
  const taken = new Set(used);
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    let idx = base + i;
    while (taken.has(idx)) idx++;
    taken.add(idx);
    out.push(idx);
  }
  return out;
}

/** What the node agent is asked to do; a change of any part reconfigures the interface. */
export function configureKey(spec: NodeENISpec, macAddress: string): string {
  const dpdk = spec.enableDPDK ?? spec.dpdkEnabled ?? false;
  return JSON.stringify([macAddress, spec.mtu ?? 0, dpdk, dpdk ? spec.dpdkDriver : '', spec.dpdkPCIAddress ?? '', spec.dpdkResourceName ?? '']);
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
  const dpdk = spec.enableDPDK ?? spec.dpdkEnabled ?? false;
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
    if (e.macAddress) s.macAddress = e.macAddress;
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
