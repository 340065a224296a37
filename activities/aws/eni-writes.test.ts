// ENI writes against the fake EC2 API: the create (its addresses, tags and ClientToken), adoption tags, and the
// detach and delete of what is already gone.
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { TAG_CLUSTER, TAG_NODE } from '../../common/names.js';
import { EniWriter, clientToken, createAddressParams } from './eni-writes.js';
import { FakeEc2Api, awsError } from './fake-ec2-api.js';

const pair = { nodeENI: 'n1', nodeName: 'node-a', subnetId: 'subnet-1' };

function setup() {
  const ec2 = new FakeEc2Api();
  ec2.subnets = [{ SubnetId: 'subnet-1', VpcId: 'vpc-1' }];
  return { ec2, writer: new EniWriter(ec2, 'c1') };
}

describe('createAddressParams', () => {
  it('a prefix count goes with the create only when no address is named or counted (EC2 refuses the mix)', () => {
    expect(createAddressParams({ ipv4PrefixCount: 2 })).toEqual({ Ipv4PrefixCount: 2 });
    expect(createAddressParams({ secondaryIPv4Count: 3, ipv4PrefixCount: 1 })).toEqual({ SecondaryPrivateIpAddressCount: 3 });
    expect(createAddressParams({ primaryIPv4Address: '10.0.1.50', ipv4PrefixCount: 1 })).toEqual({ PrivateIpAddress: '10.0.1.50' });
    expect(createAddressParams(undefined)).toEqual({});
  });
});

describe('EniWriter', () => {
  it('creates with the tags, the addresses and a ClientToken derived from the key: a retry sends the same request', async () => {
    const { ec2, writer } = setup();
    const input = { ...pair, securityGroupIds: ['sg-1'], tokenKey: 'wf-1/0', addresses: { secondaryIPv4Count: 2 } };
    const eni = await writer.create(input, '2026-01-01T00:00:00.000Z');
    expect(eni).toMatchObject({ subnetId: 'subnet-1', securityGroupIds: ['sg-1'], tags: { [TAG_NODE]: 'node-a', [TAG_CLUSTER]: 'c1' } });
    await writer.create(input, '2026-01-01T00:00:00.000Z');
    const [first, retry] = ec2.inputs('createNetworkInterface');
    expect(first).toMatchObject({ SubnetId: 'subnet-1', Groups: ['sg-1'], SecondaryPrivateIpAddressCount: 2, ClientToken: await clientToken('wf-1/0'), Description: 'ENI created by nodeeni-controller for node node-a' });
    expect(retry).toEqual(first);
    expect(await clientToken('wf-1/1')).not.toBe(first!.ClientToken);
    expect(first!.ClientToken!.length).toBeLessThanOrEqual(64);
  });

  it("maps a refused create to EC2's code and message", async () => {
    const { ec2, writer } = setup();
    ec2.failNext('createNetworkInterface', awsError('InsufficientFreeAddressesInSubnet', 400, 'The specified subnet does not have enough free addresses'));
    await expect(writer.create({ ...pair, securityGroupIds: [], tokenKey: 'k' }, '2026-01-01T00:00:00.000Z')).rejects.toMatchObject({
      type: 'InsufficientFreeAddressesInSubnet',
      nonRetryable: true,
      message: 'CreateNetworkInterface: InsufficientFreeAddressesInSubnet: The specified subnet does not have enough free addresses',
    });
  });

  it('writes only the identity tags that are missing or different', async () => {
    const { ec2, writer } = setup();
    const written = await writer.ensureTags({ ...pair, eniId: 'eni-1', current: { [TAG_NODE]: 'node-a' } }, '2026-01-01T00:00:00.000Z');
    expect(Object.keys(written)).not.toContain(TAG_NODE);
    expect(written[TAG_CLUSTER]).toBe('c1');
    expect(ec2.inputs('createTags')).toEqual([{ Resources: ['eni-1'], Tags: Object.entries(written).map(([Key, Value]) => ({ Key, Value })) }]);
    expect(await writer.ensureTags({ ...pair, eniId: 'eni-1', current: { [TAG_NODE]: 'node-a', ...written } }, '2026-01-02T00:00:00.000Z')).toEqual({});
    expect(ec2.count('createTags')).toBe(1);
  });

  it('a detach of an attachment already gone, and a delete of an ENI already gone, succeed', async () => {
    const { ec2, writer } = setup();
    await writer.detach({ eniId: 'eni-1', attachmentId: 'attach-gone' });
    await writer.delete('eni-gone');
    expect(ec2.inputs('detachNetworkInterface')).toEqual([{ AttachmentId: 'attach-gone', Force: false }]);
    expect(ec2.count('deleteNetworkInterface')).toBe(1);
  });

  it("a delete EC2 refuses for now is retried with EC2's code", async () => {
    const { ec2, writer } = setup();
    const env = new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') });
    ec2.failNext('deleteNetworkInterface', awsError('InvalidNetworkInterface.InUse', 400, 'The network interface is currently in use'));
    await expect(env.run(() => writer.delete('eni-1'))).rejects.toMatchObject({ type: 'InvalidNetworkInterface.InUse', nonRetryable: false, message: 'DeleteNetworkInterface: InvalidNetworkInterface.InUse: The network interface is currently in use' });
  });

  it('modifies source/dest check, groups and DeleteOnTermination with one call each', async () => {
    const { ec2, writer } = setup();
    await writer.setSourceDestCheck('eni-1', false);
    await writer.setSecurityGroups('eni-1', ['sg-1', 'sg-2']);
    await writer.setDeleteOnTermination('eni-1', 'attach-1', true);
    expect(ec2.inputs('modifyNetworkInterfaceAttribute')).toEqual([
      { NetworkInterfaceId: 'eni-1', SourceDestCheck: { Value: false } },
      { NetworkInterfaceId: 'eni-1', Groups: ['sg-1', 'sg-2'] },
      { NetworkInterfaceId: 'eni-1', Attachment: { AttachmentId: 'attach-1', DeleteOnTermination: true } },
    ]);
  });
});
