// The EC2 activities against a fake SDK client (through the adapter activities/aws/ec2-api.ts), in a mock activity
// context: the waits on the shared poller, the DeleteOnTermination write after an attach, inspectPair, and the
// filtered describe of attachEni's check. The providers' own paths are tested in activities/aws/.
import type { EC2Client, NetworkInterface } from '@aws-sdk/client-ec2';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createEc2Activities } from './ec2.js';
import { ec2ApiOf } from './aws/ec2-api.js';
import { TransitionPoller, type PollerTimer } from './aws/transition-poller.js';

const settle = () => new Promise((r) => setImmediate(r));

/** env.run with the activity's result type kept (run() infers unknown). */
const run = <A extends unknown[], R>(env: MockActivityEnvironment, fn: (...args: A) => Promise<R>, ...args: A): Promise<R> => env.run(fn, ...args) as Promise<R>;

class ManualTimer implements PollerTimer {
  pending: (() => void)[] = [];
  set(fn: () => void): void {
    this.pending.push(fn);
  }
  async fire(): Promise<void> {
    await settle();
    this.pending.shift()?.();
    await settle();
  }
}

/** Answers by command name; records every call's name and input. */
class FakeEc2 {
  calls: { name: string; input: Record<string, unknown> }[] = [];
  handlers: Record<string, (input: Record<string, unknown>) => unknown> = {};
  async send(command: { constructor: { name: string }; input: Record<string, unknown> }): Promise<unknown> {
    const name = command.constructor.name.replace(/Command$/, '');
    this.calls.push({ name, input: command.input });
    const h = this.handlers[name];
    if (!h) throw new Error(`unexpected ${name}`);
    return { $metadata: {}, ...((await h(command.input)) as object) };
  }
  names(): string[] {
    return this.calls.map((c) => c.name);
  }
}

const awsError = (name: string, status: number, message = `${name} message`) => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });

function setup() {
  const ec2 = new FakeEc2();
  const timer = new ManualTimer();
  const client = ec2 as unknown as EC2Client;
  // The poller takes the narrow API: the same client, through the same adapter the activities use.
  const poller = new TransitionPoller({ ec2: ec2ApiOf(client), timer, log: () => undefined });
  const acts = createEc2Activities({ ec2: client, clusterName: 'c1', poller, batchDelayMs: 0 });
  const env = new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') });
  // i-1 is a node of cluster c1 (an m5.large: 3 network interfaces); i-9 is not.
  ec2.handlers.DescribeInstances = (i) => {
    const ids = (i.Filters as { Values: string[] }[])[0]!.Values;
    const all = [
      { InstanceId: 'i-1', VpcId: 'vpc-1', InstanceType: 'm5.large', Tags: [{ Key: 'kubernetes.io/cluster/c1', Value: 'owned' }] },
      { InstanceId: 'i-9', VpcId: 'vpc-1', InstanceType: 'm5.large', Tags: [{ Key: 'kubernetes.io/cluster/other', Value: 'owned' }] },
    ];
    return { Reservations: [{ Instances: all.filter((x) => ids.includes(x.InstanceId)) }] };
  };
  ec2.handlers.DescribeInstanceTypes = () => ({ InstanceTypes: [{ InstanceType: 'm5.large', NetworkInfo: { MaximumNetworkInterfaces: 3 } }] });
  return { ec2, timer, poller, acts, env };
}

/** ENIs attached to i-1 at these indexes (eni-at-<index>). */
const onInstance = (indexes: number[]): NetworkInterface[] =>
  indexes.map((d) => ({ NetworkInterfaceId: `eni-at-${d}`, SubnetId: 'subnet-1', Status: 'in-use', Attachment: { AttachmentId: `attach-at-${d}`, InstanceId: 'i-1', DeviceIndex: d, Status: 'attached' } }));

const attachedEni = (dot: boolean): NetworkInterface => ({
  NetworkInterfaceId: 'eni-1',
  SubnetId: 'subnet-1',
  Status: 'in-use',
  Attachment: { AttachmentId: 'attach-1', InstanceId: 'i-1', DeviceIndex: 1, Status: 'attached', DeleteOnTermination: dot },
});

describe('waitAttached', () => {
  it.each([
    ['differs: written after the attach, and returned as written', false, true, true],
    ['is already right: nothing written', true, true, false],
    ['is not asked for: nothing written', false, undefined, false],
  ])('DeleteOnTermination %s', async (_what, current, wanted, writes) => {
    const { ec2, timer, acts, env } = setup();
    ec2.handlers.DescribeNetworkInterfaces = () => ({ NetworkInterfaces: [attachedEni(current)] });
    ec2.handlers.ModifyNetworkInterfaceAttribute = () => ({});
    const p = run(env, acts.waitAttached, { eniId: 'eni-1', attachmentId: 'attach-1', ...(wanted === undefined ? {} : { deleteOnTermination: wanted }) });
    await timer.fire();
    const eni = await p;
    expect(eni.attachment).toMatchObject({ attachmentId: 'attach-1', status: 'attached', deleteOnTermination: wanted ?? current });
    expect(ec2.names()).toEqual(writes ? ['DescribeNetworkInterfaces', 'ModifyNetworkInterfaceAttribute'] : ['DescribeNetworkInterfaces']);
    if (writes) expect(ec2.calls[1]!.input).toEqual({ NetworkInterfaceId: 'eni-1', Attachment: { AttachmentId: 'attach-1', DeleteOnTermination: true } });
  });

  it('cancellation ends the wait with a CancelledFailure and removes the waiter', async () => {
    const { ec2, timer, poller, acts, env } = setup();
    ec2.handlers.DescribeNetworkInterfaces = () => ({ NetworkInterfaces: [{ ...attachedEni(false), Attachment: { AttachmentId: 'attach-1', Status: 'attaching' } }] });
    const p = env.run(acts.waitAttached, { eniId: 'eni-1', attachmentId: 'attach-1' });
    await timer.fire();
    expect(poller.waiting).toBe(1);
    env.cancel();
    await expect(p).rejects.toBeInstanceOf(CancelledFailure);
    expect(poller.waiting).toBe(0);
  });
});

describe('waitDetached', () => {
  it("fails with EC2's code when the describe fails permanently", async () => {
    const { ec2, timer, acts, env } = setup();
    ec2.handlers.DescribeNetworkInterfaces = () => {
      throw awsError('UnauthorizedOperation', 403);
    };
    const failed = expect(env.run(acts.waitDetached, { eniId: 'eni-1' })).rejects.toMatchObject({
      type: 'UnauthorizedOperation',
      nonRetryable: true,
      message: 'DescribeNetworkInterfaces: UnauthorizedOperation: UnauthorizedOperation message',
    });
    await timer.fire();
    await failed;
  });
});

describe('inspectPair', () => {
  const input = { subnetIds: ['subnet-1'], subnetNames: [], securityGroupIds: ['sg-1'], securityGroupNames: [], instanceId: 'i-1', nodeENI: 'n1', nodeName: 'node-a' };

  it("resolves the network and describes the pair's ENIs in one activity", async () => {
    const { ec2, acts, env } = setup();
    ec2.handlers.DescribeSubnets = () => ({ Subnets: [{ SubnetId: 'subnet-1', CidrBlock: '10.0.1.0/24', AvailabilityZone: 'us-east-1a', VpcId: 'vpc-1' }] });
    ec2.handlers.DescribeSecurityGroups = () => ({ SecurityGroups: [{ GroupId: 'sg-1' }] });
    const tags = (nodeENI: string) => [{ Key: 'NodeENI', Value: nodeENI }, { Key: 'Node', Value: 'node-a' }];
    const filters: unknown[] = [];
    ec2.handlers.DescribeNetworkInterfaces = (i) => {
      const f = (i.Filters as { Name: string }[])[0]!;
      filters.push(f);
      // One call per batch: the node's ENIs of every NodeENI (split by tag in process), or the instance's ENIs.
      if (f.Name === 'attachment.instance-id') return { NetworkInterfaces: [attachedEni(true), { ...attachedEni(true), NetworkInterfaceId: 'eni-0', Attachment: { AttachmentId: 'a0', InstanceId: 'i-1', DeviceIndex: 0 } }] };
      return { NetworkInterfaces: [{ ...attachedEni(true), TagSet: tags('n1') }, { ...attachedEni(true), NetworkInterfaceId: 'eni-9', TagSet: tags('other') }] };
    };
    const r = await run(env, acts.inspectPair, input);
    expect(r.network).toEqual({ subnets: [{ id: 'subnet-1', cidr: '10.0.1.0/24', az: 'us-east-1a', vpcId: 'vpc-1' }], securityGroupIds: ['sg-1'] });
    expect(r.owned.map((e) => e.eniId)).toEqual(['eni-1']);
    expect(r.usedDeviceIndexes).toEqual([0, 1]);
    expect(r.maxInterfaces).toBe(3);
    expect(filters).toEqual(expect.arrayContaining([{ Name: 'tag:Node', Values: ['node-a'] }, { Name: 'attachment.instance-id', Values: ['i-1'] }]));
  });

  it('names the missing subnet ID exactly, and the field', async () => {
    const { ec2, acts, env } = setup();
    ec2.handlers.DescribeSubnets = () => ({ Subnets: [{ SubnetId: 'subnet-1', AvailabilityZone: 'us-east-1a', VpcId: 'vpc-1' }] });
    ec2.handlers.DescribeSecurityGroups = () => ({ SecurityGroups: [{ GroupId: 'sg-1', VpcId: 'vpc-1' }] });
    ec2.handlers.DescribeNetworkInterfaces = () => ({ NetworkInterfaces: [] });
    await expect(env.run(acts.inspectPair, { ...input, subnetIds: ['subnet-1', 'subnet-2'] })).rejects.toMatchObject({
      type: 'InvalidSubnetID.NotFound',
      message: "DescribeSubnets: InvalidSubnetID.NotFound: The subnet ID 'subnet-2' does not exist (spec.subnetID/subnetIDs)",
    });
  });

  it.each([
    ['only a subnet of another AZ', { AvailabilityZone: 'us-east-1b', VpcId: 'vpc-1' }, 'sg-1', /^no listed subnet is in us-east-1a, .* i-1: subnet-1 \(us-east-1b\); .* \(spec\.subnetID\/subnetIDs\)$/],
    ['a subnet of another VPC', { AvailabilityZone: 'us-east-1a', VpcId: 'vpc-2' }, 'sg-1', /subnet subnet-1 is in vpc-2, not in vpc-1, .* \(spec\.subnetID\/subnetIDs\)$/],
    ['a security group of another VPC', { AvailabilityZone: 'us-east-1a', VpcId: 'vpc-1' }, 'sg-2', /security group sg-2 is in vpc-2, not in vpc-1, .* \(spec\.securityGroupIDs\)$/],
  ])('refuses %s before anything is created, naming the field', async (_what, subnet, sg, message) => {
    const { ec2, acts, env } = setup();
    const inAz = ec2.handlers.DescribeInstances!;
    ec2.handlers.DescribeInstances = (i) => {
      const r = inAz(i) as { Reservations: { Instances: Record<string, unknown>[] }[] };
      for (const x of r.Reservations[0]!.Instances) x.Placement = { AvailabilityZone: 'us-east-1a' };
      return r;
    };
    ec2.handlers.DescribeSubnets = () => ({ Subnets: [{ SubnetId: 'subnet-1', ...subnet }] });
    ec2.handlers.DescribeSecurityGroups = () => ({ SecurityGroups: [{ GroupId: 'sg-1', VpcId: 'vpc-1' }, { GroupId: 'sg-2', VpcId: 'vpc-2' }] });
    ec2.handlers.DescribeNetworkInterfaces = () => ({ NetworkInterfaces: [] });
    await expect(env.run(acts.inspectPair, { ...input, securityGroupIds: [sg] })).rejects.toMatchObject({ type: 'NetworkNotUsable', nonRetryable: true, message: expect.stringMatching(message) });
  });

  it("fails for an instance without this cluster's tag: nothing is planned on it", async () => {
    const { ec2, acts, env } = setup();
    ec2.handlers.DescribeSubnets = () => ({ Subnets: [{ SubnetId: 'subnet-1' }] });
    ec2.handlers.DescribeSecurityGroups = () => ({ SecurityGroups: [{ GroupId: 'sg-1' }] });
    ec2.handlers.DescribeNetworkInterfaces = () => ({ NetworkInterfaces: [] });
    await expect(env.run(acts.inspectPair, { ...input, instanceId: 'i-9' })).rejects.toMatchObject({ type: 'InstanceNotInCluster', nonRetryable: true });
  });

  it("fails as resolveNetwork does, even when the pair's describe fails too", async () => {
    const { ec2, acts, env } = setup();
    // The network's answer comes last: its error still wins.
    ec2.handlers.DescribeSubnets = () => settle().then(() => ({ Subnets: [] }));
    ec2.handlers.DescribeSecurityGroups = () => ({ SecurityGroups: [{ GroupId: 'sg-1' }] });
    ec2.handlers.DescribeNetworkInterfaces = () => {
      throw awsError('InternalError', 500);
    };
    await expect(env.run(acts.inspectPair, input)).rejects.toMatchObject({ type: 'InvalidSubnetID.NotFound', nonRetryable: true });
  });
});

describe('attachEni', () => {
  it("checks an ENI already attached with a network-interface-id filter; a missing ENI keeps the attach's error", async () => {
    const { ec2, acts, env } = setup();
    ec2.handlers.AttachNetworkInterface = () => {
      throw awsError('InvalidNetworkInterface.InUse', 400);
    };
    // The instance's own ENIs do not show it (another account's view, a lag); the ENI's own describe does.
    ec2.handlers.DescribeNetworkInterfaces = (i) => ((i.Filters as { Name: string }[])[0]!.Name === 'attachment.instance-id' ? { NetworkInterfaces: [] } : { NetworkInterfaces: [attachedEni(false)] });
    expect(await env.run(acts.attachEni, { eniId: 'eni-1', instanceId: 'i-1', deviceIndex: 1, nodeName: 'node-1' })).toEqual({ attachmentId: 'attach-1', deviceIndex: 1 });
    expect(ec2.calls.filter((c) => c.name === 'DescribeNetworkInterfaces').map((c) => c.input)).toContainEqual({ Filters: [{ Name: 'network-interface-id', Values: ['eni-1'] }] });
    ec2.handlers.DescribeNetworkInterfaces = () => ({ NetworkInterfaces: [] });
    await expect(env.run(acts.attachEni, { eniId: 'eni-1', instanceId: 'i-1', deviceIndex: 1, nodeName: 'node-1' })).rejects.toMatchObject({ type: 'InvalidNetworkInterface.InUse' });
  });

  it('an index someone else took: a fresh look at the instance, then the next free one', async () => {
    const { ec2, acts, env } = setup();
    ec2.handlers.DescribeNetworkInterfaces = (i) => ((i.Filters as { Name: string }[])[0]!.Name === 'attachment.instance-id' ? { NetworkInterfaces: onInstance([0, 1]) } : { NetworkInterfaces: [] });
    ec2.handlers.AttachNetworkInterface = (i) => {
      if ([0, 1].includes(i.DeviceIndex as number)) throw awsError('InvalidParameterValue', 400, `Instance 'i-1' already has an interface attached at device index '${String(i.DeviceIndex)}'.`);
      return { AttachmentId: `attach-new-${String(i.DeviceIndex)}` };
    };
    expect(await env.run(acts.attachEni, { eniId: 'eni-1', instanceId: 'i-1', deviceIndex: 1, nodeName: 'node-1' })).toEqual({ attachmentId: 'attach-new-2', deviceIndex: 2 });
    expect(ec2.calls.filter((c) => c.name === 'AttachNetworkInterface').map((c) => c.input.DeviceIndex)).toEqual([1, 2]);
  });

  it('pairs attaching to one instance at once take different indexes without a refused call; past the limit, NoFreeDeviceIndex', async () => {
    const { ec2, acts, env } = setup();
    ec2.handlers.AttachNetworkInterface = async (i) => {
      await settle();
      return { AttachmentId: `attach-${String(i.DeviceIndex)}` };
    };
    ec2.handlers.DescribeNetworkInterfaces = () => ({ NetworkInterfaces: onInstance([0]) });
    // An m5.large takes 3 network interfaces: the primary, then indexes 1 and 2.
    const r = await Promise.allSettled(['eni-a', 'eni-b', 'eni-c'].map((eniId) => env.run(acts.attachEni, { eniId, instanceId: 'i-1', deviceIndex: 1, nodeName: 'node-1' })));
    expect(r.slice(0, 2).map((x) => (x.status === 'fulfilled' ? (x.value as { deviceIndex: number }).deviceIndex : x.reason))).toEqual([1, 2]);
    expect(r[2]).toMatchObject({
      status: 'rejected',
      reason: { type: 'NoFreeDeviceIndex', nonRetryable: true, message: 'no free device index at or above 1 on i-1 (m5.large takes 3 network interfaces); in use: 0, 1, 2' },
    });
    expect(ec2.calls.filter((c) => c.name === 'AttachNetworkInterface').map((c) => c.input.DeviceIndex)).toEqual([1, 2]);
  });

  it("EC2's AttachmentLimitExceeded counts as no free slot", async () => {
    const { ec2, acts, env } = setup();
    ec2.handlers.DescribeNetworkInterfaces = () => ({ NetworkInterfaces: onInstance([0]) });
    ec2.handlers.AttachNetworkInterface = () => {
      throw awsError('AttachmentLimitExceeded', 400);
    };
    await expect(env.run(acts.attachEni, { eniId: 'eni-1', instanceId: 'i-1', deviceIndex: 1, nodeName: 'node-1' })).rejects.toMatchObject({ type: 'NoFreeDeviceIndex', nonRetryable: true });
  });

  it("refuses an instance without this cluster's tag, before any attach", async () => {
    const { ec2, acts, env } = setup();
    ec2.handlers.DescribeNetworkInterfaces = () => ({ NetworkInterfaces: [] });
    await expect(env.run(acts.attachEni, { eniId: 'eni-1', instanceId: 'i-9', deviceIndex: 1, nodeName: 'node-1' })).rejects.toMatchObject({
      type: 'InstanceNotInCluster',
      nonRetryable: true,
      message: expect.stringContaining('i-9 does not carry the tag kubernetes.io/cluster/c1=owned|shared'),
    });
    expect(ec2.names()).not.toContain('AttachNetworkInterface');
  });

  it('an instance tagged since it was last read is read again before a refusal, and attached', async () => {
    const { ec2, acts, env } = setup();
    ec2.handlers.DescribeNetworkInterfaces = () => ({ NetworkInterfaces: [] });
    ec2.handlers.AttachNetworkInterface = () => ({ AttachmentId: 'attach-9' });
    await expect(env.run(acts.attachEni, { eniId: 'eni-1', instanceId: 'i-9', deviceIndex: 1, nodeName: 'node-1' })).rejects.toMatchObject({ type: 'InstanceNotInCluster' });
    const untagged = ec2.handlers.DescribeInstances!;
    ec2.handlers.DescribeInstances = (i) => {
      const r = untagged(i) as { Reservations: { Instances: { Tags: unknown[] }[] }[] };
      for (const x of r.Reservations[0]!.Instances) x.Tags = [{ Key: 'kubernetes.io/cluster/c1', Value: 'shared' }];
      return r;
    };
    const describes = ec2.names().filter((n) => n === 'DescribeInstances').length;
    expect(await env.run(acts.attachEni, { eniId: 'eni-1', instanceId: 'i-9', deviceIndex: 1, nodeName: 'node-1' })).toEqual({ attachmentId: 'attach-9', deviceIndex: 1 });
    expect(ec2.names().filter((n) => n === 'DescribeInstances').length).toBe(describes + 1);
    // Cached once it passes: the next attach reads nothing.
    await env.run(acts.attachEni, { eniId: 'eni-2', instanceId: 'i-9', deviceIndex: 2, nodeName: 'node-1' });
    expect(ec2.names().filter((n) => n === 'DescribeInstances').length).toBe(describes + 1);
  });
});
