import { parseIpLinkJson, selectLinkByMac } from './ip-link.js';

// Shapes as printed by iproute2 6.1 `ip -j -d link show` (trimmed).
const sample = JSON.stringify([
  { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP', 'LOWER_UP'], mtu: 65536, operstate: 'UNKNOWN', link_type: 'loopback', address: '00:00:00:00:00:00' },
  { ifindex: 2, ifname: 'ens5', flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], mtu: 9001, operstate: 'UP', link_type: 'ether', address: '0e:00:00:00:00:01' },
  { ifindex: 3, ifname: 'ens6', flags: ['BROADCAST', 'MULTICAST'], mtu: 1500, operstate: 'DOWN', link_type: 'ether', address: '0E:00:00:00:00:02' },
  { ifindex: 4, ifname: 'ens6.10', link: 'ens6', flags: ['BROADCAST', 'MULTICAST'], mtu: 1500, operstate: 'DOWN', link_type: 'ether', address: '0e:00:00:00:00:02', linkinfo: { info_kind: 'vlan' } },
  { ifindex: 5, ifname: 'bond0', flags: ['UP'], mtu: 1500, operstate: 'UP', link_type: 'ether', address: '0e:00:00:00:00:03', linkinfo: { info_kind: 'bond' } },
  { ifindex: 6, ifname: 'ens7', flags: ['UP'], mtu: 1500, operstate: 'UP', link_type: 'ether', address: '0e:00:00:00:00:03', permaddr: '0e:00:00:00:00:04' },
  { ifindex: 7, ifname: 'v0', link: 'v1', flags: ['UP'], mtu: 1500, operstate: 'LOWERLAYERDOWN', link_type: 'ether', address: '0e:00:00:00:00:05', linkinfo: { info_kind: 'veth' } },
  { ifindex: 8, ifname: 'v1', link: 'v0', flags: [], mtu: 1500, operstate: 'DOWN', link_type: 'ether', address: '0e:00:00:00:00:05', linkinfo: { info_kind: 'veth' } },
]);

describe('ip link parsing and MAC selection', () => {
  const links = parseIpLinkJson(sample);

  test('parses name, MAC (lowercased), MTU, admin state, kind', () => {
    expect(links.find((l) => l.name === 'ens6')).toEqual({
      name: 'ens6',
      index: 3,
      mac: '0e:00:00:00:00:02',
      mtu: 1500,
      adminUp: false,
      operState: 'down',
      linkType: 'ether',
    });
    expect(links.find((l) => l.name === 'ens5')?.adminUp).toBe(true);
    expect(links.find((l) => l.name === 'ens6.10')?.kind).toBe('vlan');
    expect(parseIpLinkJson('')).toEqual([]);
    expect(() => parseIpLinkJson('{}')).toThrow(/JSON array/);
  });

  test('finds the one link with the MAC', () => {
    expect(selectLinkByMac(links, '0E:00:00:00:00:01')).toMatchObject({ kind: 'found', link: { name: 'ens5' } });
    expect(selectLinkByMac(links, '0e:00:00:00:00:99')).toEqual({ kind: 'none' });
    expect(selectLinkByMac(links, '00:00:00:00:00:00')).toEqual({ kind: 'none' }); // loopback is not ether
  });

  test('a VLAN sharing the MAC is not the ENI link', () => {
    expect(selectLinkByMac(links, '0e:00:00:00:00:02')).toMatchObject({ kind: 'found', link: { name: 'ens6' } });
  });

  test('a bond slave is found by its permanent MAC; the bond owns the shared one', () => {
    expect(selectLinkByMac(links, '0e:00:00:00:00:04')).toMatchObject({ kind: 'found', link: { name: 'ens7' } });
    expect(selectLinkByMac(links, '0e:00:00:00:00:03')).toMatchObject({ kind: 'found', link: { name: 'bond0' } });
  });

  test('two real links with the same MAC are ambiguous, never guessed', () => {
    const sel = selectLinkByMac(links, '0e:00:00:00:00:05');
    expect(sel.kind).toBe('ambiguous');
    expect(sel.kind === 'ambiguous' && sel.links.map((l) => l.name)).toEqual(['v0', 'v1']);
  });
});
