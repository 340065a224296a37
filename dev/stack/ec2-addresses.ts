// IPv4 address and /28 prefix allocation in a subnet, and the XML pieces EC2 answers them with (test
// infrastructure, used by dev/stack/ec2-proxy.ts). Pure: the proxy passes in what is taken.
//
// Sources:
// - Amazon VPC User Guide, "Subnet CIDR blocks": "The first four IP addresses and the last IP address in each
//   subnet CIDR block are not available for your use, and they cannot be assigned to a resource"
//   (https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html).
// - Amazon EC2 User Guide, "Prefix delegation for Amazon EC2 network interfaces", Basics: "The IPv4 prefix that
//   you can specify is /28", "The prefix is in the subnet CIDR of the network interface, and it does not overlap
//   with other prefixes or IP addresses assigned to existing resources in the subnet"
//   (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-prefix-eni.html).

export const PREFIX_LENGTH = 28;
export const PREFIX_SIZE = 2 ** (32 - PREFIX_LENGTH); // 16 addresses

export function ipToInt(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export interface Cidr {
  /** The network address. */
  base: number;
  length: number;
  size: number;
}

export function parseCidr(cidr: string): Cidr | undefined {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr);
  const ip = m ? ipToInt(m[1]!) : undefined;
  const length = m ? Number(m[2]) : NaN;
  if (ip === undefined || !(length >= 0 && length <= 32)) return undefined;
  const size = 2 ** (32 - length);
  return { base: ip - (ip % size), length, size };
}

const formatCidr = (base: number, length: number) => `${intToIp(base)}/${length}`;

/** The five addresses EC2 keeps for itself in a subnet: the first four and the last. */
export function reservedAddresses(subnet: Cidr): number[] {
  const last = subnet.base + subnet.size - 1;
  return [subnet.base, subnet.base + 1, subnet.base + 2, subnet.base + 3, last];
}

/** What is in use in a subnet: every ENI's private IPv4 addresses, and the prefixes delegated to ENIs. */
export interface SubnetUsage {
  subnet: Cidr;
  addresses: ReadonlySet<number>;
  /** Network addresses of the delegated /28 prefixes. */
  prefixes: ReadonlySet<number>;
}

const prefixOf = (ip: number) => ip - (ip % PREFIX_SIZE);

function unavailable(u: SubnetUsage): (ip: number) => boolean {
  const reserved = new Set(reservedAddresses(u.subnet));
  return (ip) => reserved.has(ip) || u.addresses.has(ip) || u.prefixes.has(prefixOf(ip));
}

/**
 * `count` free addresses, taken from the top of the subnet down, or undefined when the subnet has fewer.
 * From the top, because moto hands out instance addresses (RunInstances) from the bottom up and does not
 * know what the proxy allocated: the two meet only when the subnet is nearly full.
 */
export function allocateAddresses(u: SubnetUsage, count: number): string[] | undefined {
  const busy = unavailable(u);
  const out: string[] = [];
  for (let ip = u.subnet.base + u.subnet.size - 1; ip >= u.subnet.base && out.length < count; ip--) {
    if (!busy(ip)) out.push(intToIp(ip));
  }
  return out.length === count ? out : undefined;
}

/** `count` free aligned /28 prefixes, from the top of the subnet down, or undefined when it has fewer. */
export function allocatePrefixes(u: SubnetUsage, count: number): string[] | undefined {
  if (u.subnet.length > PREFIX_LENGTH) return count === 0 ? [] : undefined;
  const busy = unavailable(u);
  const out: string[] = [];
  for (let p = u.subnet.base + u.subnet.size - PREFIX_SIZE; p >= u.subnet.base && out.length < count; p -= PREFIX_SIZE) {
    let free = true;
    for (let ip = p; ip < p + PREFIX_SIZE && free; ip++) free = !busy(ip);
    if (free) out.push(formatCidr(p, PREFIX_LENGTH));
  }
  return out.length === count ? out : undefined;
}

export type PrefixProblem = 'malformed' | 'outside' | 'inUse';

/**
 * Why a prefix a caller named cannot be delegated, if it cannot: not an aligned /28 (`malformed`), not inside
 * the subnet or over its reserved addresses (`outside`), overlapping an address or prefix in use (`inUse`).
 */
export function prefixProblem(u: SubnetUsage, prefix: string): PrefixProblem | undefined {
  const c = parseCidr(prefix);
  if (!c || c.length !== PREFIX_LENGTH || intToIp(c.base) !== prefix.split('/')[0]) return 'malformed';
  if (c.base < u.subnet.base || c.base + c.size > u.subnet.base + u.subnet.size) return 'outside';
  const reserved = new Set(reservedAddresses(u.subnet));
  for (let ip = c.base; ip < c.base + c.size; ip++) if (reserved.has(ip)) return 'outside';
  if (u.prefixes.has(c.base)) return 'inUse';
  for (let ip = c.base; ip < c.base + c.size; ip++) if (u.addresses.has(ip)) return 'inUse';
  return undefined;
}

/** Why an address a caller named cannot be assigned, if it cannot. */
export function addressProblem(u: SubnetUsage, ip: string): 'malformed' | 'outside' | 'inUse' | undefined {
  const n = ipToInt(ip);
  if (n === undefined) return 'malformed';
  if (n < u.subnet.base || n >= u.subnet.base + u.subnet.size || reservedAddresses(u.subnet).includes(n)) return 'outside';
  return u.addresses.has(n) || u.prefixes.has(prefixOf(n)) ? 'inUse' : undefined;
}

/** `usage` with more addresses and prefixes taken (what a request just allocated). */
export function withTaken(u: SubnetUsage, addresses: readonly string[], prefixes: readonly string[]): SubnetUsage {
  return {
    subnet: u.subnet,
    addresses: new Set([...u.addresses, ...addresses.map((a) => ipToInt(a)!)]),
    prefixes: new Set([...u.prefixes, ...prefixes.map((p) => parseCidr(p)!.base)]),
  };
}

/**
 * The IPv4 addresses an ENI counts against its instance type's Ipv4AddressesPerInterface: the primary and each
 * secondary address, and each /28 prefix as one (the limit is the number of "IPv4 addresses" per interface, in
 * which a delegated prefix takes the place of one secondary address; EC2 User Guide, "Prefix delegation for
 * Amazon EC2 network interfaces", Considerations, and "IP addresses per network interface per instance type").
 */
export const ipv4Count = (privateIps: number, prefixes: number) => privateIps + prefixes;

// ---------------------------------------------------------------------------------------------------
// Query parameters and XML

/** A non-negative integer query parameter; undefined when absent, NaN when not such a number. */
function countParam(params: ReadonlyMap<string, string>, name: string): number | undefined {
  const v = params.get(name);
  if (v === undefined) return undefined;
  return /^\d+$/.test(v) ? Number(v) : NaN;
}

export interface RequestError {
  error: { code: string; message: string };
}
const refuse = (code: string, message: string): RequestError => ({ error: { code, message } });
const badCount = () => refuse('InvalidParameterValue', 'Ipv4PrefixCount and SecondaryPrivateIpAddressCount must be non-negative integers.');

export interface CreateAddressRequest {
  /** PrivateIpAddress, else the address flagged Primary in PrivateIpAddresses, else its first. */
  namedPrimary?: string;
  namedSecondaries: string[];
  secondaryCount?: number;
  namedPrefixes: string[];
  prefixCount?: number;
  /** Neither an address nor a prefix asked for. */
  plain: boolean;
}

/**
 * What a CreateNetworkInterface asks for in addresses and prefixes, or EC2's refusal of the combination.
 * CreateNetworkInterface (EC2 API Reference): Ipv4PrefixCount and Ipv4Prefix.N exclude each other and "specific
 * private IPv4 addresses, or a count of private IPv4 addresses"; SecondaryPrivateIpAddressCount cannot go with
 * "more than one private IP address using privateIpAddresses". A static primary (PrivateIpAddress) is taken with
 * prefixes (not documented either way).
 */
export function createAddressRequest(params: ReadonlyMap<string, string>): CreateAddressRequest | RequestError {
  const prefixCount = countParam(params, 'Ipv4PrefixCount');
  const secondaryCount = countParam(params, 'SecondaryPrivateIpAddressCount');
  if (Number.isNaN(prefixCount) || Number.isNaN(secondaryCount)) return badCount();
  const namedPrefixes = queryList(params, 'Ipv4Prefix', 'Ipv4Prefix');
  const listed = [...params]
    .map(([k, v]) => [/^PrivateIpAddresses\.(\d+)\.PrivateIpAddress$/.exec(k)?.[1], v] as const)
    .filter((e): e is readonly [string, string] => e[0] !== undefined)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([i, ip]) => ({ ip, primary: params.get(`PrivateIpAddresses.${i}.Primary`) === 'true' }));
  const wantsPrefixes = prefixCount !== undefined || namedPrefixes.length > 0;
  if (prefixCount !== undefined && namedPrefixes.length > 0) return refuse('InvalidParameterCombination', "You can't specify a count of IPv4 prefixes and specific IPv4 prefixes.");
  if (wantsPrefixes && (secondaryCount !== undefined || listed.length > 1)) {
    return refuse('InvalidParameterCombination', "You can't specify IPv4 prefixes together with specific secondary private IPv4 addresses or a count of them.");
  }
  if (secondaryCount !== undefined && listed.length > 1) return refuse('InvalidParameterCombination', "You can't specify a count of secondary private IPv4 addresses and more than one private IPv4 address.");
  const namedPrimary = params.get('PrivateIpAddress') ?? listed.find((l) => l.primary)?.ip ?? listed[0]?.ip;
  return {
    namedPrimary,
    namedSecondaries: listed.map((l) => l.ip).filter((ip) => ip !== namedPrimary),
    secondaryCount,
    namedPrefixes,
    prefixCount,
    plain: !wantsPrefixes && secondaryCount === undefined && namedPrimary === undefined,
  };
}

export interface AssignAddressRequest {
  namedIps: string[];
  count?: number;
  namedPrefixes: string[];
  prefixCount?: number;
  /** Nothing asked for. */
  empty: boolean;
}

/**
 * What an AssignPrivateIpAddresses asks for, or EC2's refusal: "You must specify either the IP addresses or the IP
 * address count", and "either the IPv4 Prefix Delegation prefixes, or the IPv4 Prefix Delegation count"
 * (AssignPrivateIpAddresses, EC2 API Reference).
 */
export function assignAddressRequest(params: ReadonlyMap<string, string>): AssignAddressRequest | RequestError {
  const count = countParam(params, 'SecondaryPrivateIpAddressCount');
  const prefixCount = countParam(params, 'Ipv4PrefixCount');
  if (Number.isNaN(prefixCount) || Number.isNaN(count)) return badCount();
  const namedIps = queryList(params, 'PrivateIpAddress');
  const namedPrefixes = queryList(params, 'Ipv4Prefix');
  if (count !== undefined && namedIps.length > 0) return refuse('InvalidParameterCombination', 'Specify either private IP addresses or a count of them, not both.');
  if (prefixCount !== undefined && namedPrefixes.length > 0) return refuse('InvalidParameterCombination', 'Specify either IPv4 prefixes or a count of them, not both.');
  return { namedIps, count, namedPrefixes, prefixCount, empty: !count && namedIps.length === 0 && !prefixCount && namedPrefixes.length === 0 };
}

/** The values of a flat EC2 query list: `Name.1`, `Name.2`, … (or `Name.1.Member`, … with a member name). */
export function queryList(params: ReadonlyMap<string, string>, name: string, member?: string): string[] {
  const re = new RegExp(`^${name.replace(/\./g, '\\.')}\\.(\\d+)${member ? `\\.${member}` : ''}$`);
  return [...params]
    .map(([k, v]) => [re.exec(k)?.[1], v] as const)
    .filter((e): e is readonly [string, string] => e[0] !== undefined)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([, v]) => v);
}

/** EC2's list of delegated prefixes, as `DescribeNetworkInterfaces` and `CreateNetworkInterface` answer it. */
export function ipv4PrefixSetXml(prefixes: readonly string[], element = 'ipv4PrefixSet'): string {
  if (prefixes.length === 0) return `<${element}/>`;
  return `<${element}>${prefixes.map((p) => `<item><ipv4Prefix>${p}</ipv4Prefix></item>`).join('')}</${element}>`;
}

/**
 * An ENI's XML (a `<networkInterfaceSet>` item or a create answer's `<networkInterface>` element) with its
 * prefixes listed; any `<ipv4PrefixSet>` already there is replaced. `closing` is the ENI element's end tag.
 */
export function withIpv4Prefixes(eniXml: string, prefixes: readonly string[], closing = '</item>'): string {
  const without = eniXml.replace(/<ipv4PrefixSet\/>|<ipv4PrefixSet>[\s\S]*?<\/ipv4PrefixSet>/, '');
  const at = without.lastIndexOf(closing);
  if (at < 0) return eniXml;
  return without.slice(0, at) + ipv4PrefixSetXml(prefixes) + without.slice(at);
}

/** The private IPv4 addresses listed in an ENI's XML (`privateIpAddressesSet`). */
export function privateIpsOf(eniXml: string): string[] {
  const set = /<privateIpAddressesSet>([\s\S]*?)<\/privateIpAddressesSet>/.exec(eniXml)?.[1] ?? '';
  return [...set.matchAll(/<privateIpAddress>([^<]+)<\/privateIpAddress>/g)].map((m) => m[1]!);
}

/** AssignPrivateIpAddresses' answer (EC2 API Reference): the ENI, and what this call assigned. */
export function assignPrivateIpAddressesXml(ns: string, requestId: string, eni: string, addresses: readonly string[], prefixes: readonly string[]): string {
  const ips = addresses.length === 0 ? '<assignedPrivateIpAddressesSet/>' : `<assignedPrivateIpAddressesSet>${addresses.map((a) => `<item><privateIpAddress>${a}</privateIpAddress></item>`).join('')}</assignedPrivateIpAddressesSet>`;
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<AssignPrivateIpAddressesResponse xmlns="${ns}"><requestId>${requestId}</requestId>` +
    `<networkInterfaceId>${eni}</networkInterfaceId>${ips}${ipv4PrefixSetXml(prefixes, 'assignedIpv4PrefixSet')}</AssignPrivateIpAddressesResponse>`
  );
}
