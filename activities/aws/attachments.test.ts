// Attaching at a free device index against the fake EC2 API (which refuses a taken index as EC2 does): the
// reservations between concurrent attaches, an index someone else took, the instance type's limit, an ENI
// already attached, and the errors a user sees.
import type { NetworkInterface } from '@aws-sdk/client-ec2';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { InstanceFacts } from '../../common/device-slots.js';
import { DeviceIndexAttacher } from './attachments.js';
import { FakeEc2Api, awsError } from './fake-ec2-api.js';
import { NetworkInterfaceProvider } from './network-interfaces.js';

const m5: InstanceFacts = { instanceId: 'i-1', instanceType: 'm5.large', tags: {}, maxInterfaces: 3 };
const at = (eniId: string, index: number): NetworkInterface => ({ NetworkInterfaceId: eniId, Status: 'in-use', Attachment: { AttachmentId: `attach-${eniId}`, InstanceId: 'i-1', DeviceIndex: index, Status: 'attached' } });

function setup() {
  const ec2 = new FakeEc2Api();
  ec2.enis = [at('eni-primary', 0), ...['eni-a', 'eni-b', 'eni-c'].map((NetworkInterfaceId): NetworkInterface => ({ NetworkInterfaceId, Status: 'available' }))];
  const attacher = new DeviceIndexAttacher(ec2, new NetworkInterfaceProvider(ec2, { delayMs: 0, maxKeys: 100 }));
  const attach = (eniId: string, deviceIndex = 1, facts = m5) => attacher.attach({ eniId, instanceId: 'i-1', deviceIndex, nodeName: 'node-a' }, facts);
  return { ec2, attach };
}

describe('DeviceIndexAttacher', () => {
  it('attaches at the index asked for', async () => {
    const { ec2, attach } = setup();
    expect(await attach('eni-a')).toEqual({ attachmentId: expect.stringMatching(/^attach-/), deviceIndex: 1 });
    expect(ec2.inputs('attachNetworkInterface')).toEqual([{ NetworkInterfaceId: 'eni-a', InstanceId: 'i-1', DeviceIndex: 1 }]);
  });

  it('concurrent attaches to one instance take different indexes without a refused call; past the limit, NoFreeDeviceIndex naming what holds the slots', async () => {
    const { ec2, attach } = setup();
    const r = await Promise.allSettled(['eni-a', 'eni-b', 'eni-c'].map((id) => attach(id)));
    expect(r.slice(0, 2).map((x) => x.status === 'fulfilled' && x.value.deviceIndex)).toEqual([1, 2]);
    expect(r[2]).toMatchObject({
      status: 'rejected',
      reason: { type: 'NoFreeDeviceIndex', nonRetryable: true, message: 'no free device index at or above 1 on i-1 (m5.large takes 3 network interfaces); in use: 0, 1, 2' },
    });
    expect(ec2.inputs('attachNetworkInterface').map((i) => i.DeviceIndex)).toEqual([1, 2]);
  });

  it('an index someone else took: a fresh look at the instance, then the next free one', async () => {
    const { ec2, attach } = setup();
    ec2.enis.push(at('eni-theirs', 1));
    expect((await attach('eni-a')).deviceIndex).toBe(2);
    expect(ec2.inputs('attachNetworkInterface').map((i) => i.DeviceIndex)).toEqual([1, 2]);
  });

  it('gives up after three conflicts with the conflict as the error', async () => {
    const { ec2, attach } = setup();
    for (let i = 0; i < 3; i++) ec2.failNext('attachNetworkInterface', awsError('InvalidParameterValue', 400, `Instance 'i-1' already has an interface attached at device index '${i + 1}'.`));
    await expect(attach('eni-a', 1, { ...m5, maxInterfaces: 8 })).rejects.toMatchObject({ type: 'DeviceIndexConflict', nonRetryable: true });
    expect(ec2.count('attachNetworkInterface')).toBe(3);
  });

  it("EC2's AttachmentLimitExceeded is no free slot: the ENI waits for one", async () => {
    const { ec2, attach } = setup();
    ec2.failNext('attachNetworkInterface', awsError('AttachmentLimitExceeded', 400, 'Interface count 3 exceeds the limit for m5.large'));
    await expect(attach('eni-a')).rejects.toMatchObject({
      type: 'NoFreeDeviceIndex',
      nonRetryable: true,
      message: 'AttachNetworkInterface: AttachmentLimitExceeded: Interface count 3 exceeds the limit for m5.large',
    });
  });

  it('an ENI already attached to the instance (a retry after a lost answer) returns that attachment', async () => {
    const { ec2, attach } = setup();
    ec2.enis = ec2.enis.map((e) => (e.NetworkInterfaceId === 'eni-a' ? at('eni-a', 1) : e));
    ec2.failNext('attachNetworkInterface', awsError('InvalidNetworkInterface.InUse', 400));
    expect(await attach('eni-a')).toEqual({ attachmentId: 'attach-eni-a', deviceIndex: 1 });
  });

  it("an ENI in use elsewhere keeps EC2's error", async () => {
    const { ec2, attach } = setup();
    ec2.failNext('attachNetworkInterface', awsError('InvalidNetworkInterface.InUse', 400, 'Interface eni-a is in use'));
    // Retryable (it may be detaching); a retryable failure reads the attempt from the activity's context.
    const env = new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') });
    await expect(env.run(() => attach('eni-a'))).rejects.toMatchObject({ type: 'InvalidNetworkInterface.InUse', nonRetryable: false, message: 'AttachNetworkInterface: InvalidNetworkInterface.InUse: Interface eni-a is in use' });
    ec2.failNext('attachNetworkInterface', awsError('InvalidParameterValue', 400, 'bad value'));
    await expect(attach('eni-a')).rejects.toMatchObject({ type: 'InvalidParameterValue', nonRetryable: true, message: 'AttachNetworkInterface: InvalidParameterValue: bad value' });
  });
});
