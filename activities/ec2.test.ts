// The EC2 activities against a fake EC2 client, in a mock activity context: the waits on the shared poller, the
// DeleteOnTermination write after an attach, inspectPair, and the filtered describe of attachEni's check.
import type { EC2Client, NetworkInterface } from '@aws-sdk/client-ec2';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createEc2Activities } from './ec2.js';
import { TransitionPoller, type PollerTimer } from './transition-poller.js';

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

const awsError = (name: string, status: number) => Object.assign(new Error(`${name} message`), { name, $metadata: { httpStatusCode: status } });

function setup() {
  const ec2 = new FakeEc2();
  const timer = new ManualTimer();
  const poller = new TransitionPoller({ ec2: ec2 as never, timer, log: () => undefined });
  const acts = createEc2Activities({ ec2: ec2 as unknown as EC2Client, clusterName: 'c1', poller });
  const env = new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') });
  return { ec2, timer, poller, acts, env };
}

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
    expect(filters).toEqual(expect.arrayContaining([{ Name: 'tag:Node', Values: ['node-a'] }, { Name: 'attachment.instance-id', Values: ['i-1'] }]));
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
    ec2.handlers.DescribeNetworkInterfaces = () => ({ NetworkInterfaces: [attachedEni(false)] });
    expect(await env.run(acts.attachEni, { eniId: 'eni-1', instanceId: 'i-1', deviceIndex: 1 })).toEqual({ attachmentId: 'attach-1', deviceIndex: 1 });
    expect(ec2.calls[1]!.input).toEqual({ Filters: [{ Name: 'network-interface-id', Values: ['eni-1'] }] });
    ec2.handlers.DescribeNetworkInterfaces = () => ({ NetworkInterfaces: [] });
    await expect(env.run(acts.attachEni, { eniId: 'eni-1', instanceId: 'i-1', deviceIndex: 1 })).rejects.toMatchObject({ type: 'InvalidNetworkInterface.InUse' });
  });
});
