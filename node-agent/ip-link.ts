// Pure parsing of `ip -j -d link show` and the choice of the link that carries a MAC address.

export interface LinkInfo {
  name: string;
  index: number;
  /** Current address, lowercase. */
  mac: string;
  /** Permanent address when it differs from the current one (a bond slave carries the bond's MAC). */
  permMac?: string;
  mtu: number;
  /** Administrative state (IFF_UP): what `ip link set up/down` changes. */
  adminUp: boolean;
  operState: string;
  linkType: string;
  /** Virtual link kind from `-d` (veth, vlan, macvlan, bond, ...); absent for physical NICs. */
  kind?: string;
}

// Kinds that reuse a lower device's MAC: when one of them shares the ENI's MAC it is not the ENI's own link.
const DERIVED_KINDS = new Set(['vlan', 'macvlan', 'macvtap', 'ipvlan', 'ipvtap', 'bridge', 'bond', 'team']);

interface RawLink {
  ifindex?: unknown;
  ifname?: unknown;
  flags?: unknown;
  mtu?: unknown;
  operstate?: unknown;
  link_type?: unknown;
  address?: unknown;
  permaddr?: unknown;
  linkinfo?: { info_kind?: unknown };
}

export function parseIpLinkJson(stdout: string): LinkInfo[] {
  const raw: unknown = JSON.parse(stdout.trim() === '' ? '[]' : stdout);
  if (!Array.isArray(raw)) throw new Error('ip -j link show did not return a JSON array');
  const links: LinkInfo[] = [];
  for (const r of raw as RawLink[]) {
    if (typeof r.ifname !== 'string' || typeof r.ifindex !== 'number') continue;
    const flags = Array.isArray(r.flags) ? (r.flags as unknown[]).filter((f): f is string => typeof f === 'string') : [];
    const link: LinkInfo = {
      name: r.ifname,
      index: r.ifindex,
      mac: typeof r.address === 'string' ? r.address.toLowerCase() : '',
      mtu: typeof r.mtu === 'number' ? r.mtu : 0,
      adminUp: flags.includes('UP'),
      operState: typeof r.operstate === 'string' ? r.operstate.toLowerCase() : 'unknown',
      linkType: typeof r.link_type === 'string' ? r.link_type : 'unknown',
    };
    if (typeof r.permaddr === 'string') link.permMac = r.permaddr.toLowerCase();
    if (typeof r.linkinfo?.info_kind === 'string') link.kind = r.linkinfo.info_kind;
    links.push(link);
  }
  return links;
}

/** The address that identifies the hardware: the permanent one when the kernel reports it. */
export function hardwareMac(link: LinkInfo): string {
  return link.permMac ?? link.mac;
}

export type LinkSelection = { kind: 'found'; link: LinkInfo } | { kind: 'none' } | { kind: 'ambiguous'; links: LinkInfo[] };

export function selectLinkByMac(links: LinkInfo[], mac: string): LinkSelection {
  const wanted = mac.toLowerCase();
  let candidates = links.filter((l) => l.linkType === 'ether' && hardwareMac(l) === wanted);
  if (candidates.length > 1) candidates = candidates.filter((l) => !(l.kind && DERIVED_KINDS.has(l.kind)));
  if (candidates.length === 0) return { kind: 'none' };
  if (candidates.length === 1) return { kind: 'found', link: candidates[0]! };
  return { kind: 'ambiguous', links: candidates };
}
