// Reading ENIs against the fake EC2 API: a pair's ENIs and its instance's indexes, batched across pairs;
// paging; one ENI by a filter; the cluster's ENIs.
import type { NetworkInterface } from '@aws-sdk/client-ec2';
import { TAG_CLUSTER } from '../../common/names.js';
import { FakeEc2Api, awsError } from './fake-ec2-api.js';
import { NetworkInterfaceProvider } from './network-interfaces.js';

const eni = (id: string, node: string, nodeENI: string, attach?: { instanceId: string; index: number }): NetworkInterface => ({
  NetworkInterfaceId: id,
  SubnetId: 'subnet-1',
  Status: attach ? 'in-use' : 'available',
  TagSet: [
    { Key: 'Node', Value: node },
    { Key: 'NodeENI', Value: nodeENI },
    { Key: TAG_CLUSTER, Value: 'c1' },
  ],
  ...(attach ? { Attachment: { AttachmentId: `attach-${id}`, InstanceId: attach.instanceId, DeviceIndex: attach.index, Status: 'attached' } } : {}),
});

function setup() {
  const ec2 = new FakeEc2Api();
  ec2.enis = [
    { NetworkInterfaceId: 'eni-primary-1', Status: 'in-use', Attachment: { AttachmentId: 'attach-p1', InstanceId: 'i-1', DeviceIndex: 0, Status: 'attached' } },
    eni('eni-a1', 'node-a', 'n1', { instanceId: 'i-1', index: 2 }),
    eni('eni-a2', 'node-a', 'n2', { instanceId: 'i-1', index: 2 }),
    eni('eni-a3', 'node-a', 'n1'),
    eni('eni-b1', 'node-b', 'n1', { instanceId: 'i-2', index: 1 }),
  ];
  return { ec2, enis: new NetworkInterfaceProvider(ec2, { delayMs: 0, maxKeys: 100 }) };
}

describe('NetworkInterfaceProvider', () => {
  it("gives a pair its NodeENI's ENIs on its node and the indexes in use on its instance, each once, in order", async () => {
    const { enis } = setup();
    const r = await enis.ofPair({ nodeENI: 'n1', nodeName: 'node-a', instanceId: 'i-1' });
    expect(r.owned.map((e) => e.eniId)).toEqual(['eni-a1', 'eni-a3']);
    expect(r.usedDeviceIndexes).toEqual([0, 2]);
  });

  it('answers the pairs that ask at once with one describe per question', async () => {
    const { ec2, enis } = setup();
    const [a, b] = await Promise.all([
      enis.ofPair({ nodeENI: 'n1', nodeName: 'node-a', instanceId: 'i-1' }),
      enis.ofPair({ nodeENI: 'n1', nodeName: 'node-b', instanceId: 'i-2' }),
    ]);
    expect(a.owned.map((e) => e.eniId)).toEqual(['eni-a1', 'eni-a3']);
    expect(b).toEqual({ owned: [expect.objectContaining({ eniId: 'eni-b1' })], usedDeviceIndexes: [1] });
    expect(ec2.inputs('describeNetworkInterfaces').map((i) => i.Filters)).toEqual(
      expect.arrayContaining([[{ Name: 'tag:Node', Values: ['node-a', 'node-b'] }], [{ Name: 'attachment.instance-id', Values: ['i-1', 'i-2'] }]]),
    );
    expect(ec2.count('describeNetworkInterfaces')).toBe(2);
  });

  it('reads every page', async () => {
    const { ec2, enis } = setup();
    ec2.pageSize = 2;
    expect((await enis.ofCluster('c1')).map((e) => e.eniId)).toEqual(['eni-a1', 'eni-a2', 'eni-a3', 'eni-b1']);
    expect(ec2.inputs('describeNetworkInterfaces').map((i) => i.NextToken)).toEqual([undefined, '2']);
  });

  it('finds one ENI by a network-interface-id filter; undefined when EC2 no longer has it', async () => {
    const { ec2, enis } = setup();
    expect((await enis.one('eni-b1'))?.attachment).toEqual({ attachmentId: 'attach-eni-b1', instanceId: 'i-2', deviceIndex: 1, status: 'attached', deleteOnTermination: undefined });
    expect(await enis.one('eni-gone')).toBeUndefined();
    expect(ec2.inputs('describeNetworkInterfaces')[0]).toEqual({ Filters: [{ Name: 'network-interface-id', Values: ['eni-b1'] }], NextToken: undefined });
  });

  it("fails every pair of a batch with EC2's code when the describe fails", async () => {
    const { ec2, enis } = setup();
    ec2.failNext('describeNetworkInterfaces', awsError('UnauthorizedOperation', 403));
    await expect(enis.indexesInUse('i-1')).rejects.toMatchObject({ type: 'UnauthorizedOperation', message: 'DescribeNetworkInterfaces: UnauthorizedOperation: UnauthorizedOperation message' });
  });
});
