// What the address rules share (CreateNetworkInterface, AssignPrivateIpAddresses, AttachNetworkInterface): a
// subnet's usage, EC2's refusals of named addresses and prefixes, and the instance type's address limit.
import type http from 'node:http';
import { addressProblem, ipToInt, parseCidr, prefixProblem, withTaken, type SubnetUsage } from '../../ec2-addresses.js';
import { errorAnswer, type Answer } from '../answers.js';
import type { ProxyContext } from '../context.js';
import { describeEnis, instanceOf, instanceTypeOf, subnetOf } from '../lookups.js';
import type { EniSummary } from '../xml.js';

/** What is in use in a subnet (every ENI's private addresses, the prefixes the proxy delegated), and its ENIs. */
export async function subnetUsage(ctx: ProxyContext, headers: http.IncomingHttpHeaders, subnetId: string): Promise<{ usage: SubnetUsage; enis: EniSummary[] } | undefined> {
  const [info, enis] = await Promise.all([subnetOf(ctx, headers, subnetId), describeEnis(ctx, headers, 'subnet-id', subnetId)]);
  const subnet = info?.cidr ? parseCidr(info.cidr) : undefined;
  if (!subnet || !enis) return undefined;
  const addresses = new Set<number>();
  const prefixes = new Set<number>();
  for (const e of enis) {
    for (const ip of e.privateIps ?? []) {
      const n = ipToInt(ip);
      if (n !== undefined) addresses.add(n);
    }
    // Only ENIs that still exist count: a deleted ENI's prefixes are free again, however it went.
    for (const p of ctx.state.eniPrefixes.get(e.id) ?? []) prefixes.add(parseCidr(p)!.base);
  }
  return { usage: { subnet, addresses, prefixes }, enis };
}

// EC2 error codes (API Reference, "Error codes for the Amazon EC2 API"): InvalidIPAddress.InUse "The specified
// IP address is already in use"; InsufficientFreeAddressesInSubnet "The specified subnet does not contain enough
// free private IP addresses to fulfill your request"; InsufficientCidrBlocks "The specified subnet does not have
// enough contiguous CIDR blocks" (what EC2 answers a prefix request the subnet has no free /28 for).
const addressInUse = (ip: string) => errorAnswer(400, 'InvalidIPAddress.InUse', `Address ${ip} is in use.`);
export const noFreeAddresses = (subnet: string) => errorAnswer(400, 'InsufficientFreeAddressesInSubnet', `The specified subnet ${subnet} does not contain enough free private IP addresses to fulfill your request.`);
export const noFreePrefixes = (subnet: string) => errorAnswer(400, 'InsufficientCidrBlocks', `The specified subnet ${subnet} does not have enough contiguous CIDR blocks to fulfill your request.`);

/** EC2's refusal of the addresses a caller named in a subnet, if any. */
export function namedRefusal(u: SubnetUsage, addresses: readonly string[], prefixes: readonly string[]): Answer | undefined {
  for (const ip of addresses) {
    const problem = addressProblem(u, ip);
    if (problem === 'inUse') return addressInUse(ip);
    if (problem) return errorAnswer(400, 'InvalidParameterValue', `Address ${ip} is not a usable address of the subnet's CIDR block.`);
  }
  let taken = u;
  for (const p of prefixes) {
    const problem = prefixProblem(taken, p);
    if (problem === 'malformed') return errorAnswer(400, 'InvalidParameterValue', `The prefix ${p} is not a valid /28 IPv4 prefix.`);
    if (problem === 'outside') return errorAnswer(400, 'InvalidParameterValue', `The prefix ${p} is not within the subnet's usable CIDR range.`);
    if (problem === 'inUse') return errorAnswer(400, 'InvalidParameterValue', `The prefix ${p} overlaps an address or prefix already in use in the subnet.`);
    taken = withTaken(taken, [], [p]);
  }
  return undefined;
}

/** An attached ENI's instance type's Ipv4AddressesPerInterface, if the address limit applies to it. */
export async function addressLimitOf(ctx: ProxyContext, headers: http.IncomingHttpHeaders, eni: EniSummary): Promise<{ limit: number; type: string } | undefined> {
  const instance = eni.attachment?.instanceId;
  if (!ctx.state.semantics.addressLimit || !instance) return undefined;
  const type = (await instanceOf(ctx, headers, instance))?.type;
  const limit = type ? (await instanceTypeOf(ctx, headers, type))?.ipv4PerInterface : undefined;
  return type && limit !== undefined ? { limit, type } : undefined;
}

// PrivateIpAddressLimitExceeded (EC2 API Reference, error codes: "You've reached the limit on the number of
// private IP addresses that you can assign to the specified network interface for that type of instance"),
// with the message EC2 gives on AssignPrivateIpAddresses.
export const limitExceeded = (eni: string) => errorAnswer(400, 'PrivateIpAddressLimitExceeded', `${eni}: Number of private addresses will exceed limit.`);
