// Secondary addresses and /28 prefixes on an ENI, brought to the counts asked for: what is missing is assigned,
// the surplus (the last EC2 lists) unassigned. It starts from what EC2 has, so a retry after a lost answer asks
// only for what is still missing.
import { ApplicationFailure } from '@temporalio/activity';
import type { AddressRequest } from '../../common/ec2-contract.js';
import type { EniAddresses } from '../../common/eni-addresses.js';
import { ERROR_TYPES } from '../../common/error-types.js';
import type { Ec2Api } from './ec2-api.js';
import { ec2Call } from './ec2-failure.js';
import type { NetworkInterfaceProvider } from './network-interfaces.js';

type AddressApi = Pick<Ec2Api, 'assignPrivateIpAddresses' | 'unassignPrivateIpAddresses'>;
const ASSIGN = 'AssignPrivateIpAddresses';
const UNASSIGN = 'UnassignPrivateIpAddresses';

/** Returns the ENI's addresses as EC2's answers to the changes give them (a describe may not show them yet). */
export async function ensureAddresses(ec2: AddressApi, enis: Pick<NetworkInterfaceProvider, 'one'>, input: { eniId: string } & AddressRequest): Promise<EniAddresses> {
  const { eniId } = input;
  const now = await enis.one(eniId);
  if (!now) throw ApplicationFailure.nonRetryable(`the network interface ${eniId} does not exist`, ERROR_TYPES.eniGone);
  const ips = await ensureCount(now.secondaryIps ?? [], input.secondaryIPv4Count ?? 0, {
    assign: async (n) => {
      const r = await ec2Call(ASSIGN, () => ec2.assignPrivateIpAddresses({ NetworkInterfaceId: eniId, SecondaryPrivateIpAddressCount: n }));
      return (r.AssignedPrivateIpAddresses ?? []).map((a) => a.PrivateIpAddress);
    },
    unassign: (surplus) => ec2Call(UNASSIGN, () => ec2.unassignPrivateIpAddresses({ NetworkInterfaceId: eniId, PrivateIpAddresses: surplus })),
  });
  // Prefixes go through the same calls as addresses (EC2 has no separate action for them).
  const prefixes = await ensureCount(now.prefixes ?? [], input.ipv4PrefixCount ?? 0, {
    assign: async (n) => {
      const r = await ec2Call(ASSIGN, () => ec2.assignPrivateIpAddresses({ NetworkInterfaceId: eniId, Ipv4PrefixCount: n }));
      return (r.AssignedIpv4Prefixes ?? []).map((p) => p.Ipv4Prefix);
    },
    unassign: (surplus) => ec2Call(UNASSIGN, () => ec2.unassignPrivateIpAddresses({ NetworkInterfaceId: eniId, Ipv4Prefixes: surplus })),
  });
  return { ...(now.privateIp ? { privateIp: now.privateIp } : {}), secondaryIps: ips, prefixes };
}

/** Brings `have` to `want` entries: assigns the missing count, or unassigns the entries past `want`. */
async function ensureCount(
  have: string[],
  want: number,
  change: { assign: (count: number) => Promise<(string | undefined)[]>; unassign: (surplus: string[]) => Promise<unknown> },
): Promise<string[]> {
  if (have.length < want) return [...have, ...(await change.assign(want - have.length)).filter((a): a is string => !!a)];
  if (have.length > want) {
    await change.unassign(have.slice(want));
    return have.slice(0, want);
  }
  return have;
}
