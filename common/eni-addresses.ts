// Addresses on a pair's ENIs (spec.secondaryIPv4Count, ipv4PrefixCount, primaryIPv4Address): what the spec asks
// for, whether an ENI has it, and whether the node's instance type can hold it at all. Pure, and free of the zod
// schema, so the workflow bundle can use it.
import type { NodeENISpec } from './nodeeni.js';

/** The addresses an ENI holds, as EC2 reports them. */
export interface EniAddresses {
  privateIp?: string;
  secondaryIps?: string[];
  prefixes?: string[];
}

/** What the instance type allows per interface (DescribeInstanceTypes), when known. */
export interface AddressLimit {
  instanceType?: string;
  ipv4PerInterface?: number;
}

/** Whether the spec asks for addresses at all: only then are they set, checked and shown in status. */
export function wantsAddresses(spec: NodeENISpec): boolean {
  return spec.secondaryIPv4Count !== undefined || spec.ipv4PrefixCount !== undefined || spec.primaryIPv4Address !== undefined;
}

/** IPv4 address slots one ENI of this spec takes: the primary, each secondary, and one per /28 prefix. */
export function ipv4SlotsNeeded(spec: NodeENISpec): number {
  return 1 + (spec.secondaryIPv4Count ?? 0) + (spec.ipv4PrefixCount ?? 0);
}

/**
 * Why an ENI of this spec cannot go on the instance, naming the fields and the limit; undefined when it fits or the
 * limit is unknown. EC2 would refuse the attach (or the assignment on an attached ENI) anyway; saying so up front
 * spares the create, attach and compensation.
 */
export function addressLimitProblem(spec: NodeENISpec, limit: AddressLimit): string | undefined {
  const max = limit.ipv4PerInterface;
  const need = ipv4SlotsNeeded(spec);
  if (max === undefined || need <= max) return undefined;
  return (
    `spec.secondaryIPv4Count (${spec.secondaryIPv4Count ?? 0}) + spec.ipv4PrefixCount (${spec.ipv4PrefixCount ?? 0}) + the primary address need ${need} IPv4 addresses ` +
    `per interface; ${limit.instanceType ?? "the node's instance type"} allows ${max} (Ipv4AddressesPerInterface, a /28 prefix counts as one): ask for at most ${max - 1} in total, or select larger instances`
  );
}

/** Whether the ENI holds what the spec asks for (a static primary address is set at create and cannot change). */
export function addressesMatch(spec: NodeENISpec, a: EniAddresses): boolean {
  return (a.secondaryIps?.length ?? 0) === (spec.secondaryIPv4Count ?? 0) && (a.prefixes?.length ?? 0) === (spec.ipv4PrefixCount ?? 0);
}

function ipv4ToInt(ip: string): number | undefined {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/**
 * Why a static primary address cannot be used in the subnet, or undefined. EC2 reserves the first four addresses
 * and the last of every subnet (VPC User Guide, "Subnet CIDR blocks").
 */
export function primaryAddressProblem(ip: string, subnetId: string, cidr: string | undefined): string | undefined {
  if (!cidr) return undefined;
  const [base, bits] = cidr.split('/');
  const addr = ipv4ToInt(ip);
  const net = base === undefined ? undefined : ipv4ToInt(base);
  const len = Number(bits);
  if (addr === undefined || net === undefined || !Number.isInteger(len)) return undefined;
  const size = 2 ** (32 - len);
  const offset = addr - net;
  if (offset < 0 || offset >= size) return `spec.primaryIPv4Address ${ip} is not in subnet ${subnetId} (${cidr})`;
  if (offset < 4 || offset === size - 1) return `spec.primaryIPv4Address ${ip} is one of the addresses EC2 reserves in subnet ${subnetId} (${cidr}: the first four and the last)`;
  return undefined;
}

/** The status fields of an ENI's addresses (only when the spec asks for addresses). */
export function addressStatus(spec: NodeENISpec, a: EniAddresses): { privateIPv4Address?: string; secondaryIPv4Addresses?: string[]; ipv4Prefixes?: string[] } {
  if (!wantsAddresses(spec)) return {};
  return {
    ...(a.privateIp ? { privateIPv4Address: a.privateIp } : {}),
    ...(a.secondaryIps?.length ? { secondaryIPv4Addresses: a.secondaryIps } : {}),
    ...(a.prefixes?.length ? { ipv4Prefixes: a.prefixes } : {}),
  };
}
