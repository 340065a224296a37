import {
  addressProblem,
  allocateAddresses,
  allocatePrefixes,
  assignAddressRequest,
  assignPrivateIpAddressesXml,
  createAddressRequest,
  intToIp,
  ipToInt,
  ipv4Count,
  parseCidr,
  prefixProblem,
  privateIpsOf,
  queryList,
  reservedAddresses,
  withIpv4Prefixes,
  withTaken,
  type SubnetUsage,
} from './ec2-addresses.js';

const usage = (cidr: string, addresses: string[] = [], prefixes: string[] = []): SubnetUsage => withTaken({ subnet: parseCidr(cidr)!, addresses: new Set(), prefixes: new Set() }, addresses, prefixes);

describe('IPv4 arithmetic', () => {
  it('converts addresses and CIDRs, and refuses malformed ones', () => {
    expect(ipToInt('10.10.1.255')).toBe(0x0a0a01ff);
    expect(intToIp(0x0a0a01ff)).toBe('10.10.1.255');
    expect(ipToInt('10.10.1.256')).toBeUndefined();
    expect(ipToInt('10.10.1')).toBeUndefined();
    expect(parseCidr('10.10.1.7/24')).toEqual({ base: 0x0a0a0100, length: 24, size: 256 });
    expect(parseCidr('10.10.1.0/33')).toBeUndefined();
  });

  it('reserves the first four and the last address of a subnet', () => {
    expect(reservedAddresses(parseCidr('10.10.1.0/24')!).map(intToIp)).toEqual(['10.10.1.0', '10.10.1.1', '10.10.1.2', '10.10.1.3', '10.10.1.255']);
  });
});

describe('address allocation', () => {
  it('takes free addresses from the top of the subnet, skipping reserved, used and delegated ones', () => {
    expect(allocateAddresses(usage('10.10.1.0/24'), 2)).toEqual(['10.10.1.254', '10.10.1.253']);
    const u = usage('10.10.1.0/24', ['10.10.1.254'], ['10.10.1.240/28']);
    expect(allocateAddresses(u, 2)).toEqual(['10.10.1.239', '10.10.1.238']);
  });

  it('answers undefined when the subnet has fewer free addresses than asked', () => {
    // A /28 subnet: 16 addresses, 5 reserved, 11 usable.
    expect(allocateAddresses(usage('10.10.9.0/28'), 11)).toHaveLength(11);
    expect(allocateAddresses(usage('10.10.9.0/28'), 12)).toBeUndefined();
    expect(allocateAddresses(usage('10.10.9.0/28', ['10.10.9.4']), 11)).toBeUndefined();
  });
});

describe('prefix allocation', () => {
  it('takes aligned /28s from the top, never over a reserved, used or delegated address', () => {
    // 10.10.1.240/28 holds the broadcast address (.255): the first free one is .224/28.
    expect(allocatePrefixes(usage('10.10.1.0/24'), 2)).toEqual(['10.10.1.224/28', '10.10.1.208/28']);
    // One address in a block rules the whole block out.
    const u = usage('10.10.1.0/24', ['10.10.1.230'], ['10.10.1.208/28']);
    expect(allocatePrefixes(u, 1)).toEqual(['10.10.1.192/28']);
  });

  it('never hands out a block holding the first four addresses of the subnet', () => {
    // A /26: blocks .0 (reserved .0–.3), .16, .32, .48 (broadcast .63).
    expect(allocatePrefixes(usage('10.10.9.0/26'), 2)).toEqual(['10.10.9.32/28', '10.10.9.16/28']);
    expect(allocatePrefixes(usage('10.10.9.0/26'), 3)).toBeUndefined();
  });

  it('answers undefined when no free /28 is left, and every block it gives is disjoint', () => {
    const all = allocatePrefixes(usage('10.10.1.0/24'), 14)!;
    expect(all).toHaveLength(14);
    expect(new Set(all).size).toBe(14);
    for (const p of all) expect(Number(p.split('.')[3]!.split('/')[0]) % 16).toBe(0);
    expect(allocatePrefixes(usage('10.10.1.0/24'), 15)).toBeUndefined();
    expect(allocatePrefixes(usage('10.10.1.0/24', [], all), 1)).toBeUndefined();
    expect(allocatePrefixes(usage('10.10.9.0/29'), 1)).toBeUndefined();
  });
});

describe('named prefixes and addresses', () => {
  it('accepts a free aligned /28 of the subnet and says what is wrong with any other', () => {
    const u = usage('10.10.1.0/24', ['10.10.1.100'], ['10.10.1.128/28']);
    expect(prefixProblem(u, '10.10.1.32/28')).toBeUndefined();
    expect(prefixProblem(u, '10.10.1.33/28')).toBe('malformed');
    expect(prefixProblem(u, '10.10.1.32/27')).toBe('malformed');
    expect(prefixProblem(u, 'x/28')).toBe('malformed');
    expect(prefixProblem(u, '10.10.2.32/28')).toBe('outside');
    expect(prefixProblem(u, '10.10.1.0/28')).toBe('outside'); // the subnet's reserved addresses
    expect(prefixProblem(u, '10.10.1.96/28')).toBe('inUse'); // holds .100
    expect(prefixProblem(u, '10.10.1.128/28')).toBe('inUse');
  });

  it('refuses an address in use, inside a delegated prefix, reserved or outside the subnet', () => {
    const u = usage('10.10.1.0/24', ['10.10.1.100'], ['10.10.1.128/28']);
    expect(addressProblem(u, '10.10.1.101')).toBeUndefined();
    expect(addressProblem(u, '10.10.1.100')).toBe('inUse');
    expect(addressProblem(u, '10.10.1.130')).toBe('inUse');
    expect(addressProblem(u, '10.10.1.255')).toBe('outside');
    expect(addressProblem(u, '10.10.2.5')).toBe('outside');
    expect(addressProblem(u, 'nope')).toBe('malformed');
  });

  it('counts each prefix as one address against the per-interface limit', () => {
    expect(ipv4Count(1, 9)).toBe(10);
  });
});

describe('query lists and XML', () => {
  it('reads flat EC2 query lists in index order, with or without a member name', () => {
    const p = new Map([
      ['Ipv4Prefix.2', 'b'],
      ['Ipv4Prefix.10', 'c'],
      ['Ipv4Prefix.1', 'a'],
      ['Ipv4PrefixCount', '3'],
      ['PrivateIpAddresses.1.PrivateIpAddress', '10.0.0.9'],
      ['PrivateIpAddresses.1.Primary', 'true'],
    ]);
    expect(queryList(p, 'Ipv4Prefix')).toEqual(['a', 'b', 'c']);
    expect(queryList(p, 'PrivateIpAddresses', 'PrivateIpAddress')).toEqual(['10.0.0.9']);
    expect(queryList(new Map([['Ipv4Prefix.1.Ipv4Prefix', 'x']]), 'Ipv4Prefix', 'Ipv4Prefix')).toEqual(['x']);
  });

  const item =
    '<item><groupSet><item><groupId>sg-1</groupId></item></groupSet><networkInterfaceId>eni-1</networkInterfaceId>' +
    '<privateIpAddressesSet><item><primary>true</primary><privateIpAddress>10.10.1.254</privateIpAddress></item><item><primary>false</primary><privateIpAddress>10.10.1.253</privateIpAddress></item></privateIpAddressesSet><tagSet/></item>';

  it("lists an ENI's prefixes in ipv4PrefixSet at the end of its element, replacing any there", () => {
    const once = withIpv4Prefixes(item, ['10.10.1.224/28', '10.10.1.208/28']);
    expect(once).toBe(item.slice(0, -'</item>'.length) + '<ipv4PrefixSet><item><ipv4Prefix>10.10.1.224/28</ipv4Prefix></item><item><ipv4Prefix>10.10.1.208/28</ipv4Prefix></item></ipv4PrefixSet></item>');
    expect(withIpv4Prefixes(once, ['10.10.1.192/28'])).toBe(item.slice(0, -'</item>'.length) + '<ipv4PrefixSet><item><ipv4Prefix>10.10.1.192/28</ipv4Prefix></item></ipv4PrefixSet></item>');
    const created = `<networkInterface>${item.slice('<item>'.length, -'</item>'.length)}</networkInterface>`;
    expect(withIpv4Prefixes(created, ['10.10.1.224/28'], '</networkInterface>')).toMatch(/<tagSet\/><ipv4PrefixSet><item><ipv4Prefix>10\.10\.1\.224\/28<\/ipv4Prefix><\/item><\/ipv4PrefixSet><\/networkInterface>$/);
  });

  it("reads an ENI's private addresses", () => {
    expect(privateIpsOf(item)).toEqual(['10.10.1.254', '10.10.1.253']);
    expect(privateIpsOf('<item><networkInterfaceId>eni-2</networkInterfaceId></item>')).toEqual([]);
  });

  it("writes AssignPrivateIpAddresses' answer with only what the call assigned", () => {
    const xml = assignPrivateIpAddressesXml('ns', 'r1', 'eni-1', [], ['10.10.1.224/28']);
    expect(xml).toContain('<networkInterfaceId>eni-1</networkInterfaceId><assignedPrivateIpAddressesSet/><assignedIpv4PrefixSet><item><ipv4Prefix>10.10.1.224/28</ipv4Prefix></item></assignedIpv4PrefixSet>');
    expect(assignPrivateIpAddressesXml('ns', 'r1', 'eni-1', ['10.10.1.9'], [])).toContain('<assignedPrivateIpAddressesSet><item><privateIpAddress>10.10.1.9</privateIpAddress></item></assignedPrivateIpAddressesSet><assignedIpv4PrefixSet/>');
  });
});

describe('what a request asks for', () => {
  const q = (o: Record<string, string>) => new Map(Object.entries(o));

  it('CreateNetworkInterface: the primary named or flagged, the secondaries, the prefixes; plain when nothing is asked', () => {
    expect(createAddressRequest(q({ SubnetId: 's' }))).toEqual({ namedSecondaries: [], namedPrefixes: [], plain: true });
    expect(createAddressRequest(q({ SecondaryPrivateIpAddressCount: '2' }))).toMatchObject({ secondaryCount: 2, plain: false });
    expect(
      createAddressRequest(q({ 'PrivateIpAddresses.1.PrivateIpAddress': '10.0.0.5', 'PrivateIpAddresses.2.PrivateIpAddress': '10.0.0.6', 'PrivateIpAddresses.2.Primary': 'true' })),
    ).toMatchObject({ namedPrimary: '10.0.0.6', namedSecondaries: ['10.0.0.5'] });
    expect(createAddressRequest(q({ PrivateIpAddress: '10.0.0.9', Ipv4PrefixCount: '2' }))).toMatchObject({ namedPrimary: '10.0.0.9', prefixCount: 2, plain: false });
    expect(createAddressRequest(q({ 'Ipv4Prefix.2.Ipv4Prefix': '10.0.0.32/28', 'Ipv4Prefix.1.Ipv4Prefix': '10.0.0.16/28' }))).toMatchObject({ namedPrefixes: ['10.0.0.16/28', '10.0.0.32/28'] });
  });

  it('CreateNetworkInterface: refuses the combinations EC2 refuses, and counts that are not numbers', () => {
    const code = (o: Record<string, string>) => {
      const r = createAddressRequest(q(o));
      return 'error' in r ? r.error.code : 'ok';
    };
    expect(code({ Ipv4PrefixCount: '1', 'Ipv4Prefix.1.Ipv4Prefix': '10.0.0.16/28' })).toBe('InvalidParameterCombination');
    expect(code({ Ipv4PrefixCount: '1', SecondaryPrivateIpAddressCount: '1' })).toBe('InvalidParameterCombination');
    expect(code({ 'Ipv4Prefix.1.Ipv4Prefix': '10.0.0.16/28', 'PrivateIpAddresses.1.PrivateIpAddress': '10.0.0.5', 'PrivateIpAddresses.2.PrivateIpAddress': '10.0.0.6' })).toBe('InvalidParameterCombination');
    expect(code({ SecondaryPrivateIpAddressCount: '1', 'PrivateIpAddresses.1.PrivateIpAddress': '10.0.0.5', 'PrivateIpAddresses.2.PrivateIpAddress': '10.0.0.6' })).toBe('InvalidParameterCombination');
    expect(code({ SecondaryPrivateIpAddressCount: '1', PrivateIpAddress: '10.0.0.5' })).toBe('ok');
    expect(code({ Ipv4PrefixCount: 'two' })).toBe('InvalidParameterValue');
    expect(code({ SecondaryPrivateIpAddressCount: '-1' })).toBe('InvalidParameterValue');
  });

  it('AssignPrivateIpAddresses: addresses or a count, prefixes or a count; empty when nothing is asked', () => {
    expect(assignAddressRequest(q({ NetworkInterfaceId: 'eni-1' }))).toMatchObject({ empty: true });
    expect(assignAddressRequest(q({ 'PrivateIpAddress.1': '10.0.0.5', Ipv4PrefixCount: '1' }))).toEqual({ namedIps: ['10.0.0.5'], namedPrefixes: [], prefixCount: 1, empty: false });
    expect(assignAddressRequest(q({ 'Ipv4Prefix.1': '10.0.0.16/28', SecondaryPrivateIpAddressCount: '3' }))).toMatchObject({ namedPrefixes: ['10.0.0.16/28'], count: 3, empty: false });
    expect(assignAddressRequest(q({ 'PrivateIpAddress.1': '10.0.0.5', SecondaryPrivateIpAddressCount: '1' }))).toMatchObject({ error: { code: 'InvalidParameterCombination' } });
    expect(assignAddressRequest(q({ 'Ipv4Prefix.1': '10.0.0.16/28', Ipv4PrefixCount: '1' }))).toMatchObject({ error: { code: 'InvalidParameterCombination' } });
  });
});
