// The contract between the workflows and the EC2 activities on the controller's task queue: the activities'
// names, inputs and results. The activities (activities/ec2.ts) implement it; workflows proxy exactly this type.
import type { AddressLimit, EniAddresses } from './eni-addresses.js';

export interface EniAttachment {
  attachmentId: string;
  instanceId?: string;
  deviceIndex?: number;
  status?: string;
  deleteOnTermination?: boolean;
}

export interface EniInfo extends EniAddresses {
  eniId: string;
  subnetId: string;
  vpcId?: string;
  status: string;
  macAddress?: string;
  description?: string;
  securityGroupIds: string[];
  sourceDestCheck?: boolean;
  tags: Record<string, string>;
  attachment?: EniAttachment;
}

export interface ResolvedSubnet {
  id: string;
  cidr?: string;
  az?: string;
  vpcId?: string;
}

export interface NetworkRefs {
  subnetIds: string[];
  subnetNames: string[];
  securityGroupIds: string[];
  securityGroupNames: string[];
  /** The node's instance: names resolve in its VPC only (every account has a `default` group in each VPC). */
  instanceId: string;
}

export interface ResolvedNetwork {
  /** Those of the node's AZ (a NodeENI may list several AZs), in the order of the refs: IDs first, then names (the Go controller's order). */
  subnets: ResolvedSubnet[];
  securityGroupIds: string[];
}

/** Secondary addresses and /28 prefixes asked for on one ENI (the spec's counts). */
export interface AddressRequest {
  secondaryIPv4Count?: number;
  ipv4PrefixCount?: number;
}

/** A pair's ENIs (found by its tags) and the device indexes in use on its instance. */
export interface PairEnis {
  owned: EniInfo[];
  usedDeviceIndexes: number[];
  /** How many network interfaces the instance's type takes (DescribeInstanceTypes), when known. */
  maxInterfaces?: number;
  /** The instance type's IPv4 addresses per interface, when known. */
  addressLimit?: AddressLimit;
}

/** The pair and subnet an ENI belongs to. */
export interface PairSubnet {
  nodeENI: string;
  nodeName: string;
  subnetId: string;
}

/** A pair: its NodeENI, its node and the node's instance. */
export interface PairRef {
  nodeENI: string;
  nodeName: string;
  instanceId: string;
}

export type InspectPairInput = NetworkRefs & PairRef;
export type InspectPairResult = { network: ResolvedNetwork } & PairEnis;

export interface CreateEniInput extends PairSubnet {
  securityGroupIds: string[];
  description?: string;
  /** Hashed into the create's ClientToken: a retry with the same key returns the same ENI. */
  tokenKey: string;
  addresses?: AddressRequest & { primaryIPv4Address?: string };
}

export interface EnsureTagsInput extends PairSubnet {
  eniId: string;
  current: Record<string, string>;
}

export interface AttachEniInput {
  eniId: string;
  instanceId: string;
  deviceIndex: number;
  nodeName: string;
}

export interface AttachEniResult {
  attachmentId: string;
  deviceIndex: number;
}

export interface WaitAttachedInput {
  eniId: string;
  attachmentId: string;
  deleteOnTermination?: boolean;
}

export interface DetachEniInput {
  eniId: string;
  attachmentId: string;
  force?: boolean;
}

/** Activity names and signatures of the controller's EC2 activities. */
export interface Ec2Activities {
  /** Subnets (by ID or Name tag) and security groups (by ID, group name or Name tag), cached. */
  resolveNetwork(refs: NetworkRefs): Promise<ResolvedNetwork>;
  /** The pair's ENIs found by tags (adoption) and the device indexes in use on the instance. */
  describePair(input: PairRef): Promise<PairEnis>;
  /**
   * resolveNetwork and describePair in one activity, run concurrently, with the node and instance checks. When both
   * fail, resolveNetwork's error is the one thrown (a bad reference is the user's to fix, whatever else failed).
   */
  inspectPair(input: InspectPairInput): Promise<InspectPairResult>;
  /** Creates the ENI with its tags; the ClientToken makes a retry return the same ENI. */
  createEni(input: CreateEniInput): Promise<EniInfo>;
  /**
   * Gives an ENI this controller's identity tags, writing only what is missing or different: used for adopted ENIs
   * (the Go controller's among them). Returns what it wrote.
   */
  ensureTags(input: EnsureTagsInput): Promise<Record<string, string>>;
  /**
   * Gives the ENI as many secondary addresses and /28 prefixes as asked: assigns what is missing, unassigns the
   * surplus (the last EC2 lists), and returns what EC2 then reports. Idempotent.
   */
  ensureAddresses(input: { eniId: string } & AddressRequest): Promise<EniAddresses>;
  setSourceDestCheck(input: { eniId: string; value: boolean }): Promise<void>;
  setSecurityGroups(input: { eniId: string; securityGroupIds: string[] }): Promise<void>;
  /**
   * Attaches at the index asked for, or the next free one above it, below the instance type's limit; only to an
   * instance of this cluster. No slot left: NoFreeDeviceIndex. Idempotent: an ENI already attached to this instance
   * returns that attachment.
   */
  attachEni(input: AttachEniInput): Promise<AttachEniResult>;
  /**
   * Waits (heartbeating) until the attachment is `attached`; fails EniGone or AttachmentLost. With
   * deleteOnTermination, then sets the attachment's DeleteOnTermination if it differs and returns the value written.
   */
  waitAttached(input: WaitAttachedInput): Promise<EniInfo>;
  setDeleteOnTermination(input: { eniId: string; attachmentId: string; value: boolean }): Promise<void>;
  /** Detaches; an attachment already gone is success. */
  detachEni(input: DetachEniInput): Promise<void>;
  /** Waits (heartbeating) until the ENI is `available` without attachment, or gone. */
  waitDetached(input: { eniId: string }): Promise<void>;
  /** Deletes; an ENI already gone is success. */
  deleteEni(input: { eniId: string }): Promise<void>;
  /** Every ENI this cluster's controller tagged: one paged, bulk describe for the fleet sweep. */
  listClusterEnis(): Promise<EniInfo[]>;
}
