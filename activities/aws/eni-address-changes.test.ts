// Addresses and prefixes brought to the counts asked for, against the fake EC2 API.
import { ensureAddresses } from './eni-address-changes.js';
import { FakeEc2Api } from './fake-ec2-api.js';
import { NetworkInterfaceProvider } from './network-interfaces.js';

function setup() {
  const ec2 = new FakeEc2Api();
  ec2.enis = [
    {
      NetworkInterfaceId: 'eni-1',
      Status: 'available',
      PrivateIpAddress: '10.0.0.5',
      PrivateIpAddresses: [{ PrivateIpAddress: '10.0.0.5', Primary: true }, { PrivateIpAddress: '10.0.0.6' }, { PrivateIpAddress: '10.0.0.7' }],
      Ipv4Prefixes: [{ Ipv4Prefix: '10.0.16.0/28' }],
    },
  ];
  const enis = new NetworkInterfaceProvider(ec2, { delayMs: 0, maxKeys: 100 });
  return { ec2, ensure: (input: { secondaryIPv4Count?: number; ipv4PrefixCount?: number }) => ensureAddresses(ec2, enis, { eniId: 'eni-1', ...input }) };
}

describe('ensureAddresses', () => {
  it('assigns only what is missing, and returns what EC2 assigned', async () => {
    const { ec2, ensure } = setup();
    const r = await ensure({ secondaryIPv4Count: 3, ipv4PrefixCount: 2 });
    expect(ec2.inputs('assignPrivateIpAddresses')).toEqual([
      { NetworkInterfaceId: 'eni-1', SecondaryPrivateIpAddressCount: 1 },
      { NetworkInterfaceId: 'eni-1', Ipv4PrefixCount: 1 },
    ]);
    expect(r.privateIp).toBe('10.0.0.5');
    expect(r.secondaryIps).toHaveLength(3);
    expect(r.secondaryIps!.slice(0, 2)).toEqual(['10.0.0.6', '10.0.0.7']);
    expect(r.prefixes).toHaveLength(2);
  });

  it('unassigns the surplus, the last EC2 lists', async () => {
    const { ec2, ensure } = setup();
    expect(await ensure({ secondaryIPv4Count: 1 })).toEqual({ privateIp: '10.0.0.5', secondaryIps: ['10.0.0.6'], prefixes: [] });
    expect(ec2.inputs('unassignPrivateIpAddresses')).toEqual([
      { NetworkInterfaceId: 'eni-1', PrivateIpAddresses: ['10.0.0.7'] },
      { NetworkInterfaceId: 'eni-1', Ipv4Prefixes: ['10.0.16.0/28'] },
    ]);
  });

  it('changes nothing when the counts hold', async () => {
    const { ec2, ensure } = setup();
    await ensure({ secondaryIPv4Count: 2, ipv4PrefixCount: 1 });
    expect(ec2.count('assignPrivateIpAddresses') + ec2.count('unassignPrivateIpAddresses')).toBe(0);
  });

  it('fails EniGone for an ENI EC2 no longer has', async () => {
    const { ec2, ensure } = setup();
    ec2.enis = [];
    await expect(ensure({ secondaryIPv4Count: 1 })).rejects.toMatchObject({ type: 'EniGone', nonRetryable: true, message: 'the network interface eni-1 does not exist' });
  });
});
