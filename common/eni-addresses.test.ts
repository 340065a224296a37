import { addressLimitProblem, addressStatus, addressesMatch, ipv4SlotsNeeded, primaryAddressProblem, wantsAddresses } from './eni-addresses.js';
import { parseSpec, type NodeENISpec } from './nodeeni.js';

const spec = (extra: Record<string, unknown>): NodeENISpec => {
  const r = parseSpec({ nodeSelector: { ng: 'multus' }, subnetID: 'subnet-a', securityGroupIDs: ['sg-a'], ...extra });
  if (!r.ok) throw new Error(r.error);
  return r.spec;
};

describe('addresses on the ENI', () => {
  it('are asked for only when a field says so', () => {
    expect(wantsAddresses(spec({}))).toBe(false);
    expect(wantsAddresses(spec({ secondaryIPv4Count: 0 }))).toBe(true);
    expect(wantsAddresses(spec({ primaryIPv4Address: '10.0.1.50' }))).toBe(true);
    expect(addressStatus(spec({}), { privateIp: '10.0.1.9', secondaryIps: ['10.0.1.10'] })).toEqual({});
  });

  it('count the primary, each secondary and each /28 prefix as one slot against the type limit', () => {
    const s = spec({ secondaryIPv4Count: 7, ipv4PrefixCount: 2 });
    expect(ipv4SlotsNeeded(s)).toBe(10);
    expect(addressLimitProblem(s, { instanceType: 'm5.large', ipv4PerInterface: 10 })).toBeUndefined();
    const over = addressLimitProblem(spec({ secondaryIPv4Count: 8, ipv4PrefixCount: 2 }), { instanceType: 'm5.large', ipv4PerInterface: 10 });
    expect(over).toContain('spec.secondaryIPv4Count (8) + spec.ipv4PrefixCount (2)');
    expect(over).toContain('need 11');
    expect(over).toContain('m5.large allows 10');
    expect(addressLimitProblem(spec({ secondaryIPv4Count: 49 }), {})).toBeUndefined();
  });

  it('match when the ENI holds as many secondaries and prefixes as asked', () => {
    const s = spec({ secondaryIPv4Count: 2, ipv4PrefixCount: 1 });
    expect(addressesMatch(s, { secondaryIps: ['10.0.1.10', '10.0.1.11'], prefixes: ['10.0.1.32/28'] })).toBe(true);
    expect(addressesMatch(s, { secondaryIps: ['10.0.1.10'], prefixes: ['10.0.1.32/28'] })).toBe(false);
    expect(addressesMatch(spec({ secondaryIPv4Count: 0 }), { secondaryIps: ['10.0.1.10'] })).toBe(false);
    expect(addressStatus(s, { privateIp: '10.0.1.9', secondaryIps: ['10.0.1.10', '10.0.1.11'], prefixes: ['10.0.1.32/28'] })).toEqual({
      privateIPv4Address: '10.0.1.9',
      secondaryIPv4Addresses: ['10.0.1.10', '10.0.1.11'],
      ipv4Prefixes: ['10.0.1.32/28'],
    });
  });

  it('refuse a static primary outside the subnet or on an address EC2 reserves', () => {
    expect(primaryAddressProblem('10.0.1.50', 'subnet-a', '10.0.1.0/24')).toBeUndefined();
    expect(primaryAddressProblem('10.0.2.50', 'subnet-a', '10.0.1.0/24')).toBe('spec.primaryIPv4Address 10.0.2.50 is not in subnet subnet-a (10.0.1.0/24)');
    expect(primaryAddressProblem('10.0.1.3', 'subnet-a', '10.0.1.0/24')).toContain('reserves');
    expect(primaryAddressProblem('10.0.1.255', 'subnet-a', '10.0.1.0/24')).toContain('reserves');
    expect(primaryAddressProblem('10.0.1.4', 'subnet-a', '10.0.1.0/24')).toBeUndefined();
    expect(primaryAddressProblem('10.0.1.4', 'subnet-a', undefined)).toBeUndefined();
  });

  it('are bounded by the spec: at most 49 besides the primary, and a static primary needs one subnet', () => {
    expect(parseSpec({ nodeSelector: { ng: 'a' }, subnetID: 'subnet-a', securityGroupIDs: ['sg-a'], secondaryIPv4Count: 40, ipv4PrefixCount: 10 })).toMatchObject({
      ok: false,
      error: expect.stringContaining('spec.secondaryIPv4Count: secondaryIPv4Count + ipv4PrefixCount must be at most 49'),
    });
    expect(parseSpec({ nodeSelector: { ng: 'a' }, subnetIDs: ['subnet-a', 'subnet-b'], securityGroupIDs: ['sg-a'], primaryIPv4Address: '10.0.1.50' })).toMatchObject({
      ok: false,
      error: expect.stringContaining('spec.primaryIPv4Address: primaryIPv4Address needs exactly one subnet'),
    });
    expect(parseSpec({ nodeSelector: { ng: 'a' }, subnetID: 'subnet-a', securityGroupIDs: ['sg-a'], primaryIPv4Address: '10.0.1.256' })).toMatchObject({
      ok: false,
      error: expect.stringContaining('spec.primaryIPv4Address: must be an IPv4 address'),
    });
  });
});
