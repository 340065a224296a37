// Mocked activities for the lifecycle's workflow tests: an in-memory EC2 that keeps ENIs and attachments, a
// record of every call in order, the reports the pair wrote, and hooks a test uses to hold or fail a call.
// Pure test support: no network, no timers of its own.
import { ApplicationFailure } from '@temporalio/activity';
import type { EniInfo } from '../../common/ec2-contract.js';
import type { PairReportInput } from '../../activities/kube.js';
import type { AttachmentStatus } from '../../common/nodeeni.js';
import type { ConfigureInterfaceInput, ConfigureInterfaceResult } from '../../common/node-agent-contract.js';

interface FakeEni {
  eniId: string;
  subnetId: string;
  macAddress: string;
  securityGroupIds: string[];
  /** EC2's default: true. */
  sourceDestCheck?: boolean;
  privateIp: string;
  secondaryIps: string[];
  prefixes: string[];
  tags: Record<string, string>;
  attachment?: { attachmentId: string; instanceId: string; deviceIndex: number; status: string; deleteOnTermination: boolean };
}

/** A deferred a test resolves to let a held call go on. */
export function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

export class FakeWorld {
  enis = new Map<string, FakeEni>();
  calls: { name: string; input: unknown }[] = [];
  reports: PairReportInput[] = [];
  /** Runs before the named activity does its work: throw to fail it, await to hold it. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each hook takes its own activity's input
  before: Record<string, (input: any) => Promise<void> | void> = {};
  /** Subnets by ID, each with its CIDR; names resolve through `subnetNames`. */
  subnets: Record<string, string> = { 'subnet-a': '10.0.1.0/24', 'subnet-b': '10.0.2.0/24' };
  subnetNames: Record<string, string> = { 'user-plane': 'subnet-b' };
  /** The instance type's network interface limit (the primary at index 0 counts), when the test sets one. */
  maxInterfaces?: number;
  /** The instance type's IPv4 addresses per interface, when the test sets one. */
  ipv4PerInterface?: number;
  private seq = 0;
  private addressSeq = 10;
  private nextIp(): string {
    return `10.0.9.${++this.addressSeq}`;
  }
  private nextPrefix(): string {
    return `10.0.${++this.addressSeq}.0/28`;
  }

  /** The status entries of the last report that carried a status. */
  lastStatus(): AttachmentStatus[] | undefined {
    return this.reports.filter((r) => r.status).at(-1)?.status?.attachments;
  }
  eventReasons(): string[] {
    return this.reports.flatMap((r) => (r.events ?? []).map((e) => e.reason));
  }
  count(name: string): number {
    return this.calls.filter((c) => c.name === name).length;
  }

  private info(e: FakeEni): EniInfo {
    return {
      eniId: e.eniId,
      subnetId: e.subnetId,
      status: e.attachment ? 'in-use' : 'available',
      macAddress: e.macAddress,
      securityGroupIds: e.securityGroupIds,
      sourceDestCheck: e.sourceDestCheck ?? true,
      privateIp: e.privateIp,
      ...(e.secondaryIps.length ? { secondaryIps: [...e.secondaryIps] } : {}),
      ...(e.prefixes.length ? { prefixes: [...e.prefixes] } : {}),
      tags: e.tags,
      ...(e.attachment ? { attachment: { ...e.attachment } } : {}),
    };
  }

  private async enter(name: string, input: unknown): Promise<void> {
    this.calls.push({ name, input });
    await this.before[name]?.(input);
  }

  /** EC2 and Kubernetes activities on the controller's queues. */
  controllerActivities() {
    return {
      inspectPair: async (input: { subnetIds: string[]; subnetNames: string[]; securityGroupIds: string[]; nodeENI: string; nodeName: string; instanceId: string }) => {
        await this.enter('inspectPair', input);
        const ids = [...input.subnetIds, ...input.subnetNames.map((n) => {
          const id = this.subnetNames[n];
          if (!id) throw ApplicationFailure.nonRetryable(`SubnetNotFound: no subnet is named '${n}'`, 'SubnetNotFound');
          return id;
        })];
        const subnets = [...new Set(ids)].map((id) => ({ id, cidr: this.subnets[id] }));
        const all = [...this.enis.values()];
        const owned = all.filter((e) => e.tags.NodeENI === input.nodeENI && e.tags.Node === input.nodeName).map((e) => this.info(e));
        const used = all.filter((e) => e.attachment?.instanceId === input.instanceId).map((e) => e.attachment!.deviceIndex);
        return { network: { subnets, securityGroupIds: input.securityGroupIds }, owned, usedDeviceIndexes: [0, ...used],
          ...(this.maxInterfaces ? { maxInterfaces: this.maxInterfaces } : {}),
          ...(this.ipv4PerInterface ? { addressLimit: { instanceType: 'm5.large', ipv4PerInterface: this.ipv4PerInterface } } : {}),
        };
      },
      createEni: async (input: {
        nodeENI: string;
        nodeName: string;
        subnetId: string;
        securityGroupIds: string[];
        tokenKey: string;
        addresses?: { secondaryIPv4Count?: number; ipv4PrefixCount?: number; primaryIPv4Address?: string };
      }) => {
        await this.enter('createEni', input);
        const existing = [...this.enis.values()].find((e) => e.tags.token === input.tokenKey);
        if (existing) return this.info(existing);
        const n = ++this.seq;
        const e: FakeEni = { eniId: `eni-${String(n).padStart(4, '0')}`, subnetId: input.subnetId, macAddress: `02:00:00:00:00:${String(n).padStart(2, '0')}`, securityGroupIds: input.securityGroupIds,
          privateIp: input.addresses?.primaryIPv4Address ?? this.nextIp(),
          secondaryIps: Array.from({ length: input.addresses?.secondaryIPv4Count ?? 0 }, () => this.nextIp()),
          prefixes: Array.from({ length: input.addresses?.ipv4PrefixCount ?? 0 }, () => this.nextPrefix()),
          tags: { NodeENI: input.nodeENI, Node: input.nodeName, token: input.tokenKey } };
        this.enis.set(e.eniId, e);
        return this.info(e);
      },
      ensureAddresses: async (input: { eniId: string; secondaryIPv4Count?: number; ipv4PrefixCount?: number }) => {
        await this.enter('ensureAddresses', input);
        const e = this.enis.get(input.eniId)!;
        while (e.secondaryIps.length < (input.secondaryIPv4Count ?? 0)) e.secondaryIps.push(this.nextIp());
        e.secondaryIps = e.secondaryIps.slice(0, input.secondaryIPv4Count ?? 0);
        while (e.prefixes.length < (input.ipv4PrefixCount ?? 0)) e.prefixes.push(this.nextPrefix());
        e.prefixes = e.prefixes.slice(0, input.ipv4PrefixCount ?? 0);
        return { privateIp: e.privateIp, secondaryIps: [...e.secondaryIps], prefixes: [...e.prefixes] };
      },
      ensureTags: async (input: { eniId: string }) => {
        await this.enter('ensureTags', input);
        return {};
      },
      setSourceDestCheck: async (input: { eniId: string; value: boolean }) => {
        await this.enter('setSourceDestCheck', input);
        this.enis.get(input.eniId)!.sourceDestCheck = input.value;
      },
      setSecurityGroups: async (input: { eniId: string; securityGroupIds: string[] }) => {
        await this.enter('setSecurityGroups', input);
        this.enis.get(input.eniId)!.securityGroupIds = input.securityGroupIds;
      },
      attachEni: async (input: { eniId: string; instanceId: string; deviceIndex: number }) => {
        await this.enter('attachEni', input);
        const e = this.enis.get(input.eniId)!;
        if (e.attachment?.instanceId === input.instanceId) return { attachmentId: e.attachment.attachmentId, deviceIndex: e.attachment.deviceIndex };
        const onInstance = [...this.enis.values()].filter((x) => x.attachment?.instanceId === input.instanceId);
        if (this.maxInterfaces !== undefined && (onInstance.length + 1 >= this.maxInterfaces || input.deviceIndex >= this.maxInterfaces)) {
          throw ApplicationFailure.nonRetryable(`no free device index at or above ${input.deviceIndex} on ${input.instanceId}`, 'NoFreeDeviceIndex');
        }
        const taken = onInstance.some((x) => x.attachment!.deviceIndex === input.deviceIndex);
        if (taken || input.deviceIndex === 0) throw ApplicationFailure.nonRetryable(`device index ${input.deviceIndex} is in use`, 'DeviceIndexConflict');
        e.attachment = { attachmentId: `attach-${e.eniId}-${++this.seq}`, instanceId: input.instanceId, deviceIndex: input.deviceIndex, status: 'attached', deleteOnTermination: false };
        return { attachmentId: e.attachment.attachmentId, deviceIndex: input.deviceIndex };
      },
      waitAttached: async (input: { eniId: string; attachmentId: string; deleteOnTermination?: boolean }) => {
        await this.enter('waitAttached', input);
        const e = this.enis.get(input.eniId);
        if (!e?.attachment) throw ApplicationFailure.nonRetryable(`ENI ${input.eniId} lost its attachment`, 'AttachmentLost');
        if (input.deleteOnTermination !== undefined) e.attachment.deleteOnTermination = input.deleteOnTermination;
        return this.info(e);
      },
      setDeleteOnTermination: async (input: { eniId: string; value: boolean }) => {
        await this.enter('setDeleteOnTermination', input);
        const a = this.enis.get(input.eniId)?.attachment;
        if (a) a.deleteOnTermination = input.value;
      },
      detachEni: async (input: { eniId: string; attachmentId: string; force?: boolean }) => {
        await this.enter('detachEni', input);
        const e = this.enis.get(input.eniId);
        if (e?.attachment?.attachmentId === input.attachmentId) e.attachment = undefined;
      },
      waitDetached: async (input: { eniId: string }) => {
        await this.enter('waitDetached', input);
      },
      deleteEni: async (input: { eniId: string }) => {
        await this.enter('deleteEni', input);
        const e = this.enis.get(input.eniId);
        if (e?.attachment) throw ApplicationFailure.nonRetryable(`${input.eniId} is in use`, 'InvalidNetworkInterface.InUse');
        this.enis.delete(input.eniId);
      },
      reportPair: async (input: PairReportInput) => {
        await this.enter('reportPair', input);
        this.reports.push(input);
        return true;
      },
    };
  }

  /** The node agent's activities on the node's queue: names the link eth<deviceIndex>. */
  agentActivities() {
    return {
      configureInterface: async (input: ConfigureInterfaceInput): Promise<ConfigureInterfaceResult> => {
        await this.enter('configureInterface', input);
        return { interfaceName: `eth${input.deviceIndex}`, mtu: input.mtu, state: 'up', dpdkBound: false };
      },
      releaseInterface: async (input: { eniId: string }) => {
        await this.enter('releaseInterface', input);
        return { changed: true };
      },
    };
  }
}
