// EC2 activities: small, idempotent, retry-safe. Each wraps one or two EC2 calls; retries and backoff
// belong to Temporal (the SDK client makes one attempt), so the EC2 call count stays visible and bounded.
import { Context, ApplicationFailure } from '@temporalio/activity';
import {
  AssignPrivateIpAddressesCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  CreateTagsCommand,
  DeleteNetworkInterfaceCommand,
  DescribeInstanceTypesCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DetachNetworkInterfaceCommand,
  ModifyNetworkInterfaceAttributeCommand,
  UnassignPrivateIpAddressesCommand,
  type EC2Client,
  type Filter,
  type NetworkInterface,
  type _InstanceType,
} from '@aws-sdk/client-ec2';
import { classifyEc2Error, errorCode } from './aws/ec2-errors.js';
import { adoptionTags, creationTags } from './aws/eni-tags.js';
import { subnetsForNode } from './aws/subnet-placement.js';
import { TAG_CLUSTER, TAG_NODE, TAG_NODEENI } from '../common/names.js';
import { ERROR_TYPES, isLiveAttachment } from '../common/error-types.js';
import { InFlight, TtlCache } from './ttl-cache.js';
import { KeyBatcher, groupByKey } from './aws/key-batcher.js';
import { IndexReservations } from './aws/index-reservations.js';
import { freeDeviceIndex, noFreeSlotMessage, notInCluster, type InstanceFacts } from '../common/device-slots.js';
import { DescribeFailed, TransitionPoller, type WaitOptions, type WaitProgress } from './aws/transition-poller.js';
import type { AddressLimit, EniAddresses } from '../common/eni-addresses.js';

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
  attachment?: { attachmentId: string; instanceId?: string; deviceIndex?: number; status?: string; deleteOnTermination?: boolean };
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

export interface Ec2ActivityDeps {
  ec2: EC2Client;
  clusterName: string;
  /** How long subnet and security-group lookups are reused. */
  lookupTtlMs?: number;
  /** Poll interval of the waits (attach/detach). */
  pollMs?: number;
  /** How long a pair's describe waits for other pairs' to go out with it (ms). */
  batchDelayMs?: number;
  /** The process's shared attach/detach poller; default: one made here with pollMs. */
  poller?: TransitionPoller;
  /** Heartbeat interval of the waits; default 5000. */
  heartbeatMs?: number;
  now?: () => Date;
  /**
   * Fails unless Node `nodeName` exists and is instance `instanceId` (activities/node-check.ts); the worker always
   * sets it. Run before a pair is planned and before each attach.
   */
  nodeCheck?: (nodeName: string, instanceId: string) => Promise<void>;
}

/** Turns an EC2 error into a Temporal failure that carries AWS's code and message. */
export function ec2Failure(action: string, err: unknown): ApplicationFailure {
  const c = classifyEc2Error(err);
  const message = `${action}: ${c.code}: ${c.message}`;
  if (!c.retryable) return ApplicationFailure.nonRetryable(message, c.code, { action, code: c.code, message: c.message });
  const attempt = Context.current().info.attempt;
  return ApplicationFailure.create({
    message,
    type: c.code,
    details: [{ action, code: c.code, message: c.message }],
    // Throttling backs off harder than the policy's default, with jitter so replicas do not retry in step.
    ...(c.throttled ? { nextRetryDelay: Math.min(30000, 500 * 2 ** Math.min(attempt, 6)) + Math.floor(Math.random() * 500) } : {}),
  });
}

async function call<T>(action: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw ec2Failure(action, err);
  }
}

export function toEniInfo(n: NetworkInterface): EniInfo {
  const tags: Record<string, string> = {};
  for (const t of n.TagSet ?? []) if (t.Key) tags[t.Key] = t.Value ?? '';
  return {
    eniId: n.NetworkInterfaceId!,
    subnetId: n.SubnetId ?? '',
    vpcId: n.VpcId,
    status: n.Status ?? 'unknown',
    macAddress: n.MacAddress,
    description: n.Description,
    securityGroupIds: (n.Groups ?? []).map((g) => g.GroupId!).filter(Boolean),
    ...(n.SourceDestCheck !== undefined ? { sourceDestCheck: n.SourceDestCheck } : {}),
    ...eniAddresses(n),
    tags,
    ...(n.Attachment?.AttachmentId
      ? {
          attachment: {
            attachmentId: n.Attachment.AttachmentId,
            instanceId: n.Attachment.InstanceId,
            deviceIndex: n.Attachment.DeviceIndex,
            status: n.Attachment.Status,
            deleteOnTermination: n.Attachment.DeleteOnTermination,
          },
        }
      : {}),
  };
}

/** The ENI's addresses; the lists only when not empty (every pair's inspect answer carries them). */
export function eniAddresses(n: NetworkInterface): EniAddresses {
  const secondaryIps = (n.PrivateIpAddresses ?? []).filter((p) => !p.Primary && p.PrivateIpAddress).map((p) => p.PrivateIpAddress!);
  const prefixes = (n.Ipv4Prefixes ?? []).map((p) => p.Ipv4Prefix).filter((p): p is string => !!p);
  return {
    ...(n.PrivateIpAddress ? { privateIp: n.PrivateIpAddress } : {}),
    ...(secondaryIps.length ? { secondaryIps } : {}),
    ...(prefixes.length ? { prefixes } : {}),
  };
}

/**
 * The addresses a create asks for, so the ENI has them before it is attached. EC2 refuses a prefix count together
 * with specific addresses or a count of them (CreateNetworkInterface, Ipv4PrefixCount): prefixes then follow in
 * ensureAddresses, after the create.
 */
export function createAddressParams(a: (AddressRequest & { primaryIPv4Address?: string }) | undefined): {
  SecondaryPrivateIpAddressCount?: number;
  Ipv4PrefixCount?: number;
  PrivateIpAddress?: string;
} {
  if (!a) return {};
  const withAddresses = !!a.secondaryIPv4Count || !!a.primaryIPv4Address;
  return {
    ...(a.secondaryIPv4Count ? { SecondaryPrivateIpAddressCount: a.secondaryIPv4Count } : {}),
    ...(a.primaryIPv4Address ? { PrivateIpAddress: a.primaryIPv4Address } : {}),
    ...(a.ipv4PrefixCount && !withAddresses ? { Ipv4PrefixCount: a.ipv4PrefixCount } : {}),
  };
}

/** Deterministic ClientToken (EC2 allows 64 ASCII characters): a retried create returns the same ENI. */
export async function clientToken(key: string): Promise<string> {
  const { createHash } = await import('node:crypto');
  return `mneni-${createHash('sha256').update(key).digest('hex').slice(0, 48)}`;
}

/** The device indexes the ENIs' attachments hold, each once, in order. */
function usedIndexes(enis: readonly EniInfo[]): number[] {
  const used = enis.map((e) => e.attachment?.deviceIndex).filter((i): i is number => i !== undefined);
  return [...new Set(used)].sort((a, b) => a - b);
}

type TypeLimits = Pick<InstanceFacts, 'maxInterfaces' | 'maxIpv4PerInterface'>;

/** A resolved subnet and the spec field that named it (for the messages that blame it). */
type FieldedSubnet = ResolvedSubnet & { field: string };
const SUBNET_ID_FIELD = 'spec.subnetID/subnetIDs';
const SUBNET_NAME_FIELD = 'spec.subnetName/subnetNames';

export function createEc2Activities(deps: Ec2ActivityDeps) {
  const { ec2 } = deps;
  const ttl = deps.lookupTtlMs ?? 5 * 60_000;
  const poller = deps.poller ?? new TransitionPoller({ ec2, pollMs: deps.pollMs ?? 1000 });
  const heartbeatMs = deps.heartbeatMs ?? 5000;
  const now = deps.now ?? (() => new Date());
  const subnetCache = new TtlCache<FieldedSubnet[]>(ttl);
  const sgCache = new TtlCache<string[]>(ttl);
  // An instance keeps its VPC; its type and tags change rarely (a stop/start, a retag), so they are read again
  // after a while. A type's interface limit never changes.
  const instanceCache = new TtlCache<InstanceFacts>(10 * 60_000);
  const typeLimitCache = new TtlCache<TypeLimits>(24 * 3600_000);
  const reservations = new IndexReservations();

  const shared = {
    instances: new InFlight<InstanceFacts>(),
    typeLimits: new InFlight<TypeLimits>(),
    subnets: new InFlight<FieldedSubnet[]>(),
    groups: new InFlight<string[]>(),
  };
  // The pairs converging at once ask for their node's ENIs (by tag) and their instance's (by attachment): one
  // describe per batch answers them all.
  const batch = { delayMs: deps.batchDelayMs ?? 100, maxKeys: 100 };
  const byNode = new KeyBatcher<EniInfo[]>(
    async (nodes) => groupByKey(nodes, await describeEnis('DescribeNetworkInterfaces', [{ Name: `tag:${TAG_NODE}`, Values: nodes }]), (e) => e.tags[TAG_NODE]),
    () => [],
    batch,
  );
  const byInstance = new KeyBatcher<EniInfo[]>(
    async (ids) => groupByKey(ids, await describeEnis('DescribeNetworkInterfaces', [{ Name: 'attachment.instance-id', Values: ids }]), (e) => e.attachment?.instanceId),
    () => [],
    batch,
  );

  // The instances of the pairs converging at once are described together.
  const byInstanceId = new KeyBatcher<InstanceFacts | undefined>(
    async (ids) => {
      const r = await call('DescribeInstances', () => ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: ids }] })));
      const out = new Map<string, InstanceFacts | undefined>();
      for (const inst of (r.Reservations ?? []).flatMap((x) => x.Instances ?? [])) {
        if (!inst.InstanceId) continue;
        const tags = Object.fromEntries((inst.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
        out.set(inst.InstanceId, { instanceId: inst.InstanceId, vpcId: inst.VpcId, az: inst.Placement?.AvailabilityZone, instanceType: inst.InstanceType, tags });
      }
      return out;
    },
    () => undefined,
    batch,
  );

  /** The node's instance: VPC, type, tags and interface limit (cached). Fails when EC2 does not know it. */
  async function instanceFacts(instanceId: string): Promise<InstanceFacts> {
    return instanceCache.get(instanceId) ?? shared.instances.run(instanceId, () => loadInstanceFacts(instanceId));
  }

  async function loadInstanceFacts(instanceId: string): Promise<InstanceFacts> {
    const found = await byInstanceId.get(instanceId);
    if (!found) throw ApplicationFailure.nonRetryable(`DescribeInstances: the node's instance ${instanceId} does not exist (terminated?)`, 'InvalidInstanceID.NotFound');
    const limits = found.instanceType ? await typeLimits(found.instanceType) : {};
    const facts = { ...found, ...limits };
    instanceCache.set(instanceId, facts);
    return facts;
  }

  /** The type's interface and per-interface address limits, read once a day at most (they never change). */
  async function typeLimits(type: string): Promise<TypeLimits> {
    return (
      typeLimitCache.get(type) ??
      shared.typeLimits.run(type, async () => {
        const r = await call('DescribeInstanceTypes', () => ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: [type as _InstanceType] })));
        const net = r.InstanceTypes?.[0]?.NetworkInfo;
        const limits: TypeLimits = {
          ...(net?.MaximumNetworkInterfaces !== undefined ? { maxInterfaces: net.MaximumNetworkInterfaces } : {}),
          ...(net?.Ipv4AddressesPerInterface !== undefined ? { maxIpv4PerInterface: net.Ipv4AddressesPerInterface } : {}),
        };
        typeLimitCache.set(type, limits);
        return limits;
      })
    );
  }

  const nodeCheck = async (nodeName: string, instanceId: string): Promise<void> => deps.nodeCheck?.(nodeName, instanceId);

  /** The instance's facts, or a non-retryable failure when it is not this cluster's (nothing is put on it). */
  async function clusterInstance(instanceId: string): Promise<InstanceFacts> {
    let facts = await instanceFacts(instanceId);
    if (notInCluster(facts, deps.clusterName)) {
      // Read again before refusing: an instance tagged since it was cached must not wait out the cache.
      instanceCache.delete(instanceId);
      facts = await instanceFacts(instanceId);
    }
    const why = notInCluster(facts, deps.clusterName);
    if (why) throw ApplicationFailure.nonRetryable(why, ERROR_TYPES.instanceNotInCluster);
    return facts;
  }

  /** Device indexes held on the instance now (a detaching attachment still holds its index), read afresh. */
  async function indexesInUse(instanceId: string): Promise<number[]> {
    return usedIndexes(await describeEnis('DescribeNetworkInterfaces', [{ Name: 'attachment.instance-id', Values: [instanceId] }]));
  }

  /** The error of a name that more than one resource carries in the VPC: guessing would pick a network at random. */
  const ambiguous = (kind: string, name: string, vpcId: string, ids: string[], field: string, byId: string) =>
    ApplicationFailure.nonRetryable(
      `${kind} '${name}' is ambiguous in ${vpcId}: ${ids.length} match (${ids.join(', ')}) (${field}); name it by ID (${byId})`,
      ERROR_TYPES.ambiguousName,
    );
  const inVpc = (vpcId: string | undefined): Filter[] => (vpcId ? [{ Name: 'vpc-id', Values: [vpcId] }] : []);

  async function describeEnis(action: string, filters: Filter[] | undefined, ids?: string[]): Promise<EniInfo[]> {
    const out: EniInfo[] = [];
    let token: string | undefined;
    do {
      const r = await call(action, () =>
        ec2.send(new DescribeNetworkInterfacesCommand({ ...(filters ? { Filters: filters } : {}), ...(ids ? { NetworkInterfaceIds: ids } : {}), NextToken: token })),
      );
      out.push(...(r.NetworkInterfaces ?? []).map(toEniInfo));
      token = r.NextToken;
    } while (token);
    return out;
  }

  /** One ENI by ID, or undefined when EC2 no longer has it. A filter, not NetworkInterfaceIds: EC2's larger bucket. */
  async function describeEni(eniId: string): Promise<EniInfo | undefined> {
    const found = await describeEnis('DescribeNetworkInterfaces', [{ Name: 'network-interface-id', Values: [eniId] }]);
    return found.find((e) => e.eniId === eniId);
  }

  /** Waits on the shared poller, heartbeating what it last saw; cancellation removes the waiter. */
  async function awaitTransition<T>(start: (o: WaitOptions) => Promise<T>): Promise<T> {
    const ctx = Context.current();
    let progress: WaitProgress = { status: 'waiting', polls: 0 };
    const beat = setInterval(() => ctx.heartbeat(progress), heartbeatMs);
    try {
      return await start({ signal: ctx.cancellationSignal, onPoll: (p) => (progress = p) });
    } catch (err) {
      throw err instanceof DescribeFailed ? ec2Failure('DescribeNetworkInterfaces', err.cause) : err;
    } finally {
      clearInterval(beat);
    }
  }

  async function resolveSubnets(ids: string[], names: string[], vpcId?: string): Promise<FieldedSubnet[]> {
    const key = JSON.stringify([ids, names, vpcId]);
    return subnetCache.get(key) ?? shared.subnets.run(key, () => loadSubnets(key, ids, names, vpcId));
  }

  async function loadSubnets(key: string, ids: string[], names: string[], vpcId?: string): Promise<FieldedSubnet[]> {
    const byId: FieldedSubnet[] = [];
    if (ids.length) {
      // A filter, not SubnetIds: EC2 then answers with what exists, and the missing ID is named exactly.
      const r = await call('DescribeSubnets', () => ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'subnet-id', Values: ids }] })));
      for (const id of ids) {
        const s = r.Subnets?.find((x) => x.SubnetId === id);
        if (!s) throw ApplicationFailure.nonRetryable(`DescribeSubnets: InvalidSubnetID.NotFound: The subnet ID '${id}' does not exist (${SUBNET_ID_FIELD})`, 'InvalidSubnetID.NotFound');
        byId.push({ id, cidr: s.CidrBlock, az: s.AvailabilityZone, vpcId: s.VpcId, field: SUBNET_ID_FIELD });
      }
    }
    const byName: FieldedSubnet[] = [];
    if (names.length) {
      const r = await call('DescribeSubnets', () => ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'tag:Name', Values: names }, ...inVpc(vpcId)] })));
      for (const name of names) {
        const matches = (r.Subnets ?? []).filter((x) => x.Tags?.some((t) => t.Key === 'Name' && t.Value === name));
        // In the node's VPC a name must be unique; without a VPC (an old request) the first match wins, as in the Go controller.
        if (vpcId && matches.length > 1) throw ambiguous('subnet name', name, vpcId, matches.map((m) => m.SubnetId!), SUBNET_NAME_FIELD, 'spec.subnetIDs');
        const s = matches[0];
        if (!s) {
          throw ApplicationFailure.nonRetryable(
            `DescribeSubnets: SubnetNotFound: no subnet${vpcId ? ` in ${vpcId} (the node's VPC)` : ''} has the Name tag '${name}' (${SUBNET_NAME_FIELD})`,
            'SubnetNotFound',
          );
        }
        byName.push({ id: s.SubnetId!, cidr: s.CidrBlock, az: s.AvailabilityZone, vpcId: s.VpcId, field: SUBNET_NAME_FIELD });
      }
    }
    const seen = new Set<string>();
    const subnets = [...byId, ...byName].filter((s) => (seen.has(s.id) ? false : (seen.add(s.id), true)));
    subnetCache.set(key, subnets);
    return subnets;
  }

  async function resolveSecurityGroups(ids: string[], names: string[], vpcId?: string): Promise<string[]> {
    const key = JSON.stringify([ids, names, vpcId]);
    return sgCache.get(key) ?? shared.groups.run(key, () => loadSecurityGroups(key, ids, names, vpcId));
  }

  async function loadSecurityGroups(key: string, ids: string[], names: string[], vpcId?: string): Promise<string[]> {
    const out = new Set<string>();
    if (ids.length) {
      // Checked up front so a typo fails naming the group and the field instead of surfacing at create time. A
      // filter, not GroupIds: EC2 answers with what exists, and the missing ID is named exactly.
      const r = await call('DescribeSecurityGroups', () => ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-id', Values: ids }] })));
      for (const id of ids) {
        const g = r.SecurityGroups?.find((x) => x.GroupId === id);
        if (!g) {
          throw ApplicationFailure.nonRetryable(`DescribeSecurityGroups: InvalidGroup.NotFound: The security group '${id}' does not exist (spec.securityGroupIDs)`, 'InvalidGroup.NotFound');
        }
        // EC2 puts an ENI only in groups of its subnet's VPC (CreateNetworkInterface: "belong to different networks").
        if (vpcId && g.VpcId && g.VpcId !== vpcId) {
          throw ApplicationFailure.nonRetryable(`security group ${id} is in ${g.VpcId}, not in ${vpcId}, the VPC of the node's instance (spec.securityGroupIDs)`, ERROR_TYPES.networkNotUsable);
        }
        out.add(id);
      }
    }
    if (names.length) {
      // A group name is unique within a VPC (EC2 refuses a second one); a Name tag need not be.
      const byName = await call('DescribeSecurityGroups', () => ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: names }, ...inVpc(vpcId)] })));
      let missing = names.filter((n) => !byName.SecurityGroups?.some((g) => g.GroupName === n));
      for (const g of byName.SecurityGroups ?? []) if (names.includes(g.GroupName ?? '')) out.add(g.GroupId!);
      if (missing.length) {
        const byTag = await call('DescribeSecurityGroups', () => ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'tag:Name', Values: missing }, ...inVpc(vpcId)] })));
        for (const name of missing) {
          const matches = (byTag.SecurityGroups ?? []).filter((g) => g.Tags?.some((t) => t.Key === 'Name' && t.Value === name));
          if (vpcId && matches.length > 1) throw ambiguous('security group Name tag', name, vpcId, matches.map((g) => g.GroupId!), 'spec.securityGroupNames', 'spec.securityGroupIDs');
          for (const g of matches) out.add(g.GroupId!);
        }
        missing = missing.filter((n) => !byTag.SecurityGroups?.some((g) => g.Tags?.some((t) => t.Key === 'Name' && t.Value === n)));
      }
      if (missing.length) {
        throw ApplicationFailure.nonRetryable(
          `DescribeSecurityGroups: SecurityGroupNotFound: no security group${vpcId ? ` in ${vpcId} (the node's VPC)` : ''} is named '${missing.join("', '")}' (spec.securityGroupNames)`,
          'SecurityGroupNotFound',
        );
      }
    }
    const list = [...out];
    sgCache.set(key, list);
    return list;
  }

  async function resolveNetwork(refs: NetworkRefs): Promise<ResolvedNetwork> {
    // Names resolve in the node's VPC; IDs are unique in the account but must be of that VPC (and the subnet of its
    // AZ) too, or EC2 refuses the ENI later: both are checked here, naming the field, before anything is created.
    const instance = refs.instanceId ? await instanceFacts(refs.instanceId) : undefined;
    if (instance && !instance.vpcId) {
      throw ApplicationFailure.nonRetryable(`DescribeInstances: the node's instance ${instance.instanceId} has no VPC (is it terminated?)`, 'InstanceVpcUnknown');
    }
    const vpcId = instance?.vpcId;
    const [subnets, securityGroupIds] = await Promise.all([
      resolveSubnets(refs.subnetIds, refs.subnetNames, vpcId),
      resolveSecurityGroups(refs.securityGroupIds, refs.securityGroupNames, vpcId),
    ]);
    // A multi-AZ NodeENI: the node gets the subnets of its own AZ (activities/subnet-placement.ts).
    const placed = instance ? subnetsForNode(subnets, instance) : { ok: true as const, subnets };
    if (!placed.ok) throw ApplicationFailure.nonRetryable(placed.error, ERROR_TYPES.networkNotUsable);
    return { subnets: placed.subnets.map(({ field: _field, ...s }) => s), securityGroupIds };
  }

  async function describePair(input: { nodeENI: string; nodeName: string; instanceId: string }): Promise<PairEnis> {
    const [onNode, onInstance] = await Promise.all([byNode.get(input.nodeName), byInstance.get(input.instanceId)]);
    const owned = onNode.filter((e) => e.tags[TAG_NODEENI] === input.nodeENI);
    return { owned, usedDeviceIndexes: usedIndexes(onInstance) };
  }

  return {
    /** Subnets (by ID or Name tag) and security groups (by ID, group name or Name tag), cached. */
    resolveNetwork,

    /** The pair's ENIs found by tags (adoption) and the device indexes in use on the instance. */
    describePair,

    /**
     * resolveNetwork and describePair in one activity, run concurrently. When both fail, resolveNetwork's error
     * is the one thrown (a bad reference is the user's to fix, whatever else failed).
     */
    async inspectPair(input: NetworkRefs & { nodeENI: string; nodeName: string; instanceId: string }): Promise<{ network: ResolvedNetwork } & PairEnis> {
      const [network, pair, instance, node] = await Promise.allSettled([resolveNetwork(input), describePair(input), clusterInstance(input.instanceId), nodeCheck(input.nodeName, input.instanceId)]);
      if (node.status === 'rejected') throw node.reason;
      if (instance.status === 'rejected') throw instance.reason;
      if (network.status === 'rejected') throw network.reason;
      if (pair.status === 'rejected') throw pair.reason;
      const facts = instance.value;
      return {
        network: network.value,
        ...pair.value,
        ...(facts.maxInterfaces === undefined ? {} : { maxInterfaces: facts.maxInterfaces }),
        ...(facts.maxIpv4PerInterface === undefined ? {} : { addressLimit: { instanceType: facts.instanceType, ipv4PerInterface: facts.maxIpv4PerInterface } }),
      };
    },

    /** Creates the ENI with its tags; the ClientToken makes a retry return the same ENI. */
    async createEni(input: PairSubnet & { securityGroupIds: string[]; description?: string; tokenKey: string; addresses?: AddressRequest & { primaryIPv4Address?: string } }): Promise<EniInfo> {
      const token = await clientToken(input.tokenKey);
      // Stamped with the activity's first scheduling, not the attempt's clock: a retry must repeat the exact
      // request, or EC2 refuses the ClientToken with IdempotentParameterMismatch.
      const tags = creationTags({ ...input, clusterName: deps.clusterName }, new Date(Context.current().info.scheduledTimestampMs).toISOString());
      const r = await call('CreateNetworkInterface', () =>
        ec2.send(
          new CreateNetworkInterfaceCommand({
            SubnetId: input.subnetId,
            Groups: input.securityGroupIds,
            Description: input.description ?? `ENI created by nodeeni-controller for node ${input.nodeName}`,
            ClientToken: token,
            ...createAddressParams(input.addresses),
            TagSpecifications: [{ ResourceType: 'network-interface', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }],
          }),
        ),
      );
      return toEniInfo(r.NetworkInterface!);
    },

    /**
     * Gives an ENI this controller's identity tags, writing only what is missing or different: used for
     * adopted ENIs (the Go controller's among them). Returns what it wrote.
     */
    async ensureTags(input: PairSubnet & { eniId: string; current: Record<string, string> }): Promise<Record<string, string>> {
      const write = adoptionTags(input.current, { ...input, clusterName: deps.clusterName }, now().toISOString());
      if (Object.keys(write).length === 0) return write;
      await call('CreateTags', () => ec2.send(new CreateTagsCommand({ Resources: [input.eniId], Tags: Object.entries(write).map(([Key, Value]) => ({ Key, Value })) })));
      return write;
    },

    /**
     * Gives the ENI as many secondary addresses and /28 prefixes as asked: assigns what is missing, unassigns the
     * surplus (the last EC2 lists), and returns what EC2 then reports. Idempotent: it starts from what EC2 has, so a
     * retry after a lost answer asks only for what is still missing.
     */
    async ensureAddresses(input: { eniId: string } & AddressRequest): Promise<EniAddresses> {
      const { eniId } = input;
      const now = await describeEni(eniId);
      if (!now) throw ApplicationFailure.nonRetryable(`the network interface ${eniId} does not exist`, ERROR_TYPES.eniGone);
      let ips = now.secondaryIps ?? [];
      let prefixes = now.prefixes ?? [];
      const wantIps = input.secondaryIPv4Count ?? 0;
      const wantPrefixes = input.ipv4PrefixCount ?? 0;
      // The result is built from EC2's answers to the changes, not from a describe that may not show them yet.
      if (ips.length < wantIps) {
        const r = await call('AssignPrivateIpAddresses', () => ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, SecondaryPrivateIpAddressCount: wantIps - ips.length })));
        ips = [...ips, ...(r.AssignedPrivateIpAddresses ?? []).map((a) => a.PrivateIpAddress).filter((a): a is string => !!a)];
      } else if (ips.length > wantIps) {
        const surplus = ips.slice(wantIps);
        await call('UnassignPrivateIpAddresses', () => ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, PrivateIpAddresses: surplus })));
        ips = ips.slice(0, wantIps);
      }
      if (prefixes.length < wantPrefixes) {
        // Prefixes go through the same call as addresses (EC2 has no separate action for them).
        const r = await call('AssignPrivateIpAddresses', () => ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, Ipv4PrefixCount: wantPrefixes - prefixes.length })));
        prefixes = [...prefixes, ...(r.AssignedIpv4Prefixes ?? []).map((p) => p.Ipv4Prefix).filter((p): p is string => !!p)];
      } else if (prefixes.length > wantPrefixes) {
        const surplus = prefixes.slice(wantPrefixes);
        await call('UnassignPrivateIpAddresses', () => ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, Ipv4Prefixes: surplus })));
        prefixes = prefixes.slice(0, wantPrefixes);
      }
      return { ...(now.privateIp ? { privateIp: now.privateIp } : {}), secondaryIps: ips, prefixes };
    },

    async setSourceDestCheck(input: { eniId: string; value: boolean }): Promise<void> {
      await call('ModifyNetworkInterfaceAttribute', () => ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: input.eniId, SourceDestCheck: { Value: input.value } })));
    },

    async setSecurityGroups(input: { eniId: string; securityGroupIds: string[] }): Promise<void> {
      await call('ModifyNetworkInterfaceAttribute', () => ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: input.eniId, Groups: input.securityGroupIds })));
    },

    /**
     * Attaches at the index asked for, or the next free one above it, below the instance type's limit; only to an
     * instance of this cluster. Indexes this process is attaching at are reserved, so pairs converging on one node
     * at once take different ones without a refused call; an index someone else took is found by a fresh look and
     * passed. No slot left: NoFreeDeviceIndex (the ENI waits for one). Idempotent: if the ENI is already attached to
     * this instance (a retry after the first attempt succeeded), returns that attachment.
     */
    async attachEni(input: { eniId: string; instanceId: string; deviceIndex: number; nodeName: string }): Promise<{ attachmentId: string; deviceIndex: number }> {
      const { eniId, instanceId } = input;
      // The Node must still name this instance: a node replaced since the pass's inspectPair gets nothing attached.
      await nodeCheck(input.nodeName, instanceId);
      const facts = await clusterInstance(instanceId);
      let taken = reservations.heldByOthers(instanceId, eniId);
      for (let conflicts = 0; ; conflicts++) {
        const index = freeDeviceIndex(input.deviceIndex, taken, facts.maxInterfaces);
        if (index === undefined) {
          // The user's question is "what holds the slots": the instance's attachments, this process's attaches, and
          // the indexes this attach found taken on the way (a fresh look may not show yet an attach EC2 refused it for).
          const inUse = [...new Set([...(await indexesInUse(instanceId)), ...reservations.heldByOthers(instanceId, eniId), ...taken])];
          throw ApplicationFailure.nonRetryable(noFreeSlotMessage(facts, inUse, input.deviceIndex), ERROR_TYPES.noFreeDeviceIndex);
        }
        reservations.reserve(instanceId, eniId, index);
        let answer;
        try {
          answer = await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: eniId, InstanceId: instanceId, DeviceIndex: index }));
        } catch (err) {
          const c = classifyEc2Error(err);
          if (c.code === 'InvalidParameterValue' || c.code === 'InvalidNetworkInterface.InUse' || c.code === ERROR_TYPES.deviceIndexConflict) {
            const eni = await describeEni(eniId);
            if (eni?.attachment?.instanceId === instanceId && isLiveAttachment(eni.attachment)) {
              return { attachmentId: eni.attachment.attachmentId, deviceIndex: eni.attachment.deviceIndex ?? index };
            }
          }
          // EC2's own count of the instance's interfaces: the ENI waits for a slot like any other.
          if (c.code === 'AttachmentLimitExceeded') throw ApplicationFailure.nonRetryable(`AttachNetworkInterface: ${c.code}: ${c.message}`, ERROR_TYPES.noFreeDeviceIndex);
          if (c.code !== ERROR_TYPES.deviceIndexConflict || conflicts >= 2) throw ec2Failure('AttachNetworkInterface', err);
          // Taken by an attach this process did not make: look at the instance and move past what it holds.
          taken = [...new Set([...reservations.heldByOthers(instanceId, eniId), ...(await indexesInUse(instanceId)), index])];
          continue;
        } finally {
          // Held only while the call is in flight: once EC2 answered, the instance's own view tells.
          reservations.release(instanceId, eniId, index);
        }
        return { attachmentId: answer.AttachmentId!, deviceIndex: index };
      }
    },

    /**
     * Waits (heartbeating, on the process's shared poller) until the attachment is `attached`; fails EniGone or
     * AttachmentLost. With deleteOnTermination, then sets the attachment's DeleteOnTermination if it differs and
     * returns the value written (not read back: moto ignores it).
     */
    async waitAttached(input: { eniId: string; attachmentId: string; deleteOnTermination?: boolean }): Promise<EniInfo> {
      const eni = toEniInfo(await awaitTransition((o) => poller.waitAttached(input, o)));
      const dot = input.deleteOnTermination;
      if (dot === undefined || !eni.attachment || eni.attachment.deleteOnTermination === dot) return eni;
      await call('ModifyNetworkInterfaceAttribute', () =>
        ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: input.eniId, Attachment: { AttachmentId: input.attachmentId, DeleteOnTermination: dot } })),
      );
      return { ...eni, attachment: { ...eni.attachment, deleteOnTermination: dot } };
    },

    async setDeleteOnTermination(input: { eniId: string; attachmentId: string; value: boolean }): Promise<void> {
      await call('ModifyNetworkInterfaceAttribute', () =>
        ec2.send(
          new ModifyNetworkInterfaceAttributeCommand({
            NetworkInterfaceId: input.eniId,
            Attachment: { AttachmentId: input.attachmentId, DeleteOnTermination: input.value },
          }),
        ),
      );
    },

    /** Detaches; an attachment already gone is success. */
    async detachEni(input: { eniId: string; attachmentId: string; force?: boolean }): Promise<void> {
      try {
        await ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: input.attachmentId, Force: input.force ?? false }));
      } catch (err) {
        const code = errorCode(err);
        if (code === 'InvalidAttachmentID.NotFound' || code === 'InvalidNetworkInterfaceID.NotFound') return;
        throw ec2Failure('DetachNetworkInterface', err);
      }
    },

    /** Waits (heartbeating, on the process's shared poller) until the ENI is `available` without attachment, or gone. */
    async waitDetached(input: { eniId: string }): Promise<void> {
      await awaitTransition((o) => poller.waitDetached(input, o));
    },

    /** Deletes; an ENI already gone is success. */
    async deleteEni(input: { eniId: string }): Promise<void> {
      try {
        await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: input.eniId }));
      } catch (err) {
        if (errorCode(err) === 'InvalidNetworkInterfaceID.NotFound') return;
        throw ec2Failure('DeleteNetworkInterface', err);
      }
    },

    /** Every ENI this cluster's controller tagged: one paged, bulk describe for the fleet sweep. */
    async listClusterEnis(): Promise<EniInfo[]> {
      return describeEnis('DescribeNetworkInterfaces', [{ Name: `tag:${TAG_CLUSTER}`, Values: [deps.clusterName] }]);
    },
  };
}

export type Ec2Activities = ReturnType<typeof createEc2Activities>;
