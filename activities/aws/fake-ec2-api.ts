// A test double of the narrow EC2 API (activities/aws/ec2-api.ts): an in-memory account whose describes apply
// the filters the providers send, whose attaches refuse a taken device index as EC2 does, and which records every
// call and fails the ones a test queues a failure for. For the providers' unit tests; no network.
import type { Filter, Instance, InstanceTypeInfo, NetworkInterface, SecurityGroup, Subnet, Tag } from '@aws-sdk/client-ec2';
import type { Ec2Api } from './ec2-api.js';

type Action = keyof Ec2Api;

/** An error shaped as the SDK throws them: `name` is EC2's code. */
export const awsError = (code: string, status = 400, message = `${code} message`): Error =>
  Object.assign(new Error(message), { name: code, $metadata: { httpStatusCode: status } });

export const nameTag = (name: string): Tag[] => [{ Key: 'Name', Value: name }];

function tagValue(tags: Tag[] | undefined, key: string): string | undefined {
  return tags?.find((t) => t.Key === key)?.Value;
}

/** The value a filter reads off a resource; undefined when the resource has none. */
type FieldOf<T> = (r: T, name: string) => string | undefined;

function matches<T extends { Tags?: Tag[]; TagSet?: Tag[] }>(r: T, filters: Filter[], field: FieldOf<T>): boolean {
  return filters.every((f) => {
    const name = f.Name ?? '';
    const v = name.startsWith('tag:') ? tagValue(r.Tags ?? r.TagSet, name.slice(4)) : field(r, name);
    return v !== undefined && (f.Values ?? []).includes(v);
  });
}

const subnetField: FieldOf<Subnet> = (s, n) => ({ 'subnet-id': s.SubnetId, 'vpc-id': s.VpcId })[n];
const groupField: FieldOf<SecurityGroup> = (g, n) => ({ 'group-id': g.GroupId, 'group-name': g.GroupName, 'vpc-id': g.VpcId })[n];
const instanceField: FieldOf<Instance> = (i, n) => ({ 'instance-id': i.InstanceId })[n];
const eniField: FieldOf<NetworkInterface> = (e, n) =>
  ({ 'network-interface-id': e.NetworkInterfaceId, 'attachment.instance-id': e.Attachment?.InstanceId, 'vpc-id': e.VpcId })[n];

export class FakeEc2Api implements Ec2Api {
  subnets: Subnet[] = [];
  securityGroups: SecurityGroup[] = [];
  instances: Instance[] = [];
  instanceTypes: InstanceTypeInfo[] = [];
  enis: NetworkInterface[] = [];
  /** Most ENIs in one describe page (the rest follow a NextToken). */
  pageSize = 1000;
  calls: { action: Action; input: unknown }[] = [];
  private readonly failures = new Map<Action, unknown[]>();
  private ids = 0;

  /** The next call of `action` throws `err` (queued: several calls fail in order). */
  failNext(action: Action, err: unknown): void {
    this.failures.set(action, [...(this.failures.get(action) ?? []), err]);
  }

  /** How many calls of `action` were made. */
  count(action: Action): number {
    return this.calls.filter((c) => c.action === action).length;
  }

  /** The inputs of the calls of `action`, in order. */
  inputs<A extends Action>(action: A): Parameters<Ec2Api[A]>[0][] {
    return this.calls.filter((c) => c.action === action).map((c) => c.input as Parameters<Ec2Api[A]>[0]);
  }

  eni(id: string): NetworkInterface | undefined {
    return this.enis.find((e) => e.NetworkInterfaceId === id);
  }

  private async record(action: Action, input: unknown): Promise<void> {
    this.calls.push({ action, input });
    await Promise.resolve();
    const queued = this.failures.get(action);
    if (queued?.length) throw queued.shift();
  }

  async describeSubnets(input: { Filters: Filter[] }) {
    await this.record('describeSubnets', input);
    return { Subnets: this.subnets.filter((s) => matches(s, input.Filters, subnetField)) };
  }

  async describeSecurityGroups(input: { Filters: Filter[] }) {
    await this.record('describeSecurityGroups', input);
    return { SecurityGroups: this.securityGroups.filter((g) => matches(g, input.Filters, groupField)) };
  }

  async describeInstances(input: { Filters: Filter[] }) {
    await this.record('describeInstances', input);
    return { Reservations: [{ Instances: this.instances.filter((i) => matches(i, input.Filters, instanceField)) }] };
  }

  async describeInstanceTypes(input: { InstanceTypes: string[] }) {
    await this.record('describeInstanceTypes', input);
    return { InstanceTypes: this.instanceTypes.filter((t) => input.InstanceTypes.includes(t.InstanceType ?? '')) };
  }

  async describeNetworkInterfaces(input: { Filters: Filter[]; NextToken?: string }) {
    await this.record('describeNetworkInterfaces', input);
    const all = this.enis.filter((e) => matches(e, input.Filters, eniField));
    const from = Number(input.NextToken ?? 0);
    const next = from + this.pageSize;
    return { NetworkInterfaces: all.slice(from, next), ...(next < all.length ? { NextToken: String(next) } : {}) };
  }

  async createNetworkInterface(input: Parameters<Ec2Api['createNetworkInterface']>[0]) {
    await this.record('createNetworkInterface', input);
    const subnet = this.subnets.find((s) => s.SubnetId === input.SubnetId);
    const eni: NetworkInterface = {
      NetworkInterfaceId: `eni-${++this.ids}`,
      SubnetId: input.SubnetId,
      VpcId: subnet?.VpcId,
      Status: 'available',
      Description: input.Description,
      Groups: (input.Groups ?? []).map((GroupId) => ({ GroupId })),
      TagSet: input.TagSpecifications?.[0]?.Tags ?? [],
    };
    this.enis.push(eni);
    return { NetworkInterface: eni };
  }

  async createTags(input: Parameters<Ec2Api['createTags']>[0]) {
    await this.record('createTags', input);
    for (const e of this.enis.filter((x) => input.Resources?.includes(x.NetworkInterfaceId ?? ''))) {
      const keys = new Set((input.Tags ?? []).map((t) => t.Key));
      e.TagSet = [...(e.TagSet ?? []).filter((t) => !keys.has(t.Key)), ...(input.Tags ?? [])];
    }
    return {};
  }

  async assignPrivateIpAddresses(input: Parameters<Ec2Api['assignPrivateIpAddresses']>[0]) {
    await this.record('assignPrivateIpAddresses', input);
    const n = ++this.ids;
    const ips = Array.from({ length: input.SecondaryPrivateIpAddressCount ?? 0 }, (_, i) => ({ PrivateIpAddress: `10.0.${n}.${i + 10}` }));
    const prefixes = Array.from({ length: input.Ipv4PrefixCount ?? 0 }, (_, i) => ({ Ipv4Prefix: `10.${n}.${i}.0/28` }));
    return { AssignedPrivateIpAddresses: ips, AssignedIpv4Prefixes: prefixes };
  }

  async unassignPrivateIpAddresses(input: Parameters<Ec2Api['unassignPrivateIpAddresses']>[0]) {
    await this.record('unassignPrivateIpAddresses', input);
    return {};
  }

  async modifyNetworkInterfaceAttribute(input: Parameters<Ec2Api['modifyNetworkInterfaceAttribute']>[0]) {
    await this.record('modifyNetworkInterfaceAttribute', input);
    return {};
  }

  /** Refuses an index already held on the instance with EC2's message for it. */
  async attachNetworkInterface(input: Parameters<Ec2Api['attachNetworkInterface']>[0]) {
    await this.record('attachNetworkInterface', input);
    const held = this.enis.some((e) => e.Attachment?.InstanceId === input.InstanceId && e.Attachment?.DeviceIndex === input.DeviceIndex);
    if (held) {
      throw awsError('InvalidParameterValue', 400, `Instance '${input.InstanceId}' already has an interface attached at device index '${String(input.DeviceIndex)}'.`);
    }
    const eni = this.eni(input.NetworkInterfaceId ?? '');
    if (!eni) throw awsError('InvalidNetworkInterfaceID.NotFound');
    const AttachmentId = `attach-${++this.ids}`;
    eni.Status = 'in-use';
    eni.Attachment = { AttachmentId, InstanceId: input.InstanceId, DeviceIndex: input.DeviceIndex, Status: 'attached' };
    return { AttachmentId };
  }

  async detachNetworkInterface(input: Parameters<Ec2Api['detachNetworkInterface']>[0]) {
    await this.record('detachNetworkInterface', input);
    const eni = this.enis.find((e) => e.Attachment?.AttachmentId === input.AttachmentId);
    if (!eni) throw awsError('InvalidAttachmentID.NotFound');
    eni.Attachment = undefined;
    eni.Status = 'available';
    return {};
  }

  async deleteNetworkInterface(input: Parameters<Ec2Api['deleteNetworkInterface']>[0]) {
    await this.record('deleteNetworkInterface', input);
    const i = this.enis.findIndex((e) => e.NetworkInterfaceId === input.NetworkInterfaceId);
    if (i < 0) throw awsError('InvalidNetworkInterfaceID.NotFound');
    this.enis.splice(i, 1);
    return {};
  }
}
