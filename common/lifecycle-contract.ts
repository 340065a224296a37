// The contract between the watcher and the lifecycle workflow of one (NodeENI, node) pair:
// what the watcher sends (start input and signals) and what the workflow answers to a query.
import type { NodeENISpec, AttachmentPhase } from './nodeeni.js';
import type { EniAddresses } from './eni-addresses.js';

/** What the cluster wants for one pair; the watcher derives it, the workflow converges to it. */
export interface DesiredPair {
  nodeENI: string;
  nodeName: string;
  /** NodeENI uid, so Events attach to the right object. */
  uid: string;
  generation: number;
  instanceId: string;
  /** Already validated and defaulted by the watcher. */
  spec: NodeENISpec;
}

export interface LifecycleInput {
  desired: DesiredPair;
  /** State carried across continueAsNew; absent on the first run. */
  carried?: CarriedState;
  /** History length after which a run at rest continues as new (default 8000; tests set it low). */
  historyLimit?: number;
}

/** One ENI of the pair (one per subnet); its addresses as EC2 last reported them. */
export interface EniRecord extends EniAddresses {
  subnetId: string;
  subnetCidr?: string;
  eniId?: string;
  attachmentId?: string;
  instanceId?: string;
  deviceIndex?: number;
  /** spec.deviceIndex + position when attached; a change of the spec re-attaches (a bump past a taken index does not). */
  requestedIndex?: number;
  macAddress?: string;
  securityGroupIds?: string[];
  /** The ENI's source/destination check as EC2 last reported it or the workflow last set it. */
  sourceDestCheck?: boolean;
  deleteOnTermination?: boolean;
  /** True when this workflow created the ENI (not adopted): compensation deletes only those. */
  createdHere?: boolean;
  phase: AttachmentPhase;
  message?: string;
  interfaceName?: string;
  pciAddress?: string;
  mtuApplied?: number;
  dpdkBound?: boolean;
  dpdkDriver?: string;
  /** Hash of what the node agent was last asked to configure; a change reconfigures. */
  configuredKey?: string;
  /** The instance has no free network interface slot for it: the pair looks again soon (the ENI, if any, is kept). */
  waitingForSlot?: boolean;
}

export interface CarriedState {
  enis: EniRecord[];
  /** Per subnet: how many times a fresh ENI was created; part of the deterministic ClientToken. */
  createSeq: Record<string, number>;
  releaseRequested: boolean;
  /** A spec that arrived while releasing: after the release the pair starts over with it. */
  revive?: DesiredPair;
  dirty: boolean;
  lastStatusKey?: string;
  eventSeq: number;
}

/** Answer of the `state` query. */
export interface PairState {
  desired: DesiredPair;
  enis: EniRecord[];
  phase: string;
  releasing: boolean;
  converging: boolean;
  lastError?: string;
}

/** Payload of the `release` signal. */
export interface ReleaseRequest {
  reason: string;
}

/** Payload of the `repair` signal (sent by the fleet sweep). */
export interface RepairRequest {
  reason: string;
  eniIds: string[];
}
