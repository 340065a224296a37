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
  const ips = await ensureIps(ec2, eniId, now.secondaryIps ?? [], input.secondaryIPv4Count ?? 0);
  const prefixes = await ensurePrefixes(ec2, eniId, now.prefixes ?? [], input.ipv4PrefixCount ?? 0);
  return { ...(now.privateIp ? { privateIp: now.privateIp } : {}), secondaryIps: ips, prefixes };
}

async function ensureIps(ec2: AddressApi, eniId: string, ips: string[], want: number): Promise<string[]> {
  if (ips.length < want) {
    const r = await ec2Call(ASSIGN, () => ec2.assignPrivateIpAddresses({ NetworkInterfaceId: eniId, SecondaryPrivateIpAddressCount: want - ips.length }));
    return [...ips, ...(r.AssignedPrivateIpAddresses ?? []).map((a) => a.PrivateIpAddress).filter((a): a is string => !!a)];
  }
  if (ips.length > want) {
    await ec2Call(UNASSIGN, () => ec2.unassignPrivateIpAddresses({ NetworkInterfaceId: eniId, PrivateIpAddresses: ips.slice(want) }));
    return ips.slice(0, want);
  }
  return ips;
}

async function ensurePrefixes(ec2: AddressApi, eniId: string, prefixes: string[], want: number): Promise<string[]> {
  if (prefixes.length < want) {
    // Prefixes go through the same call as addresses (EC2 has no separate action for them).
    const r = await ec2Call(ASSIGN, () => ec2.assignPrivateIpAddresses({ NetworkInterfaceId: eniId, Ipv4PrefixCount: want - prefixes.length }));
    return [...prefixes, ...(r.AssignedIpv4Prefixes ?? []).map((p) => p.Ipv4Prefix).filter((p): p is string => !!p)];
  }
  if (prefixes.length > want) {
    await ec2Call(UNASSIGN, () => ec2.unassignPrivateIpAddresses({ NetworkInterfaceId: eniId, Ipv4Prefixes: prefixes.slice(want) }));
    return prefixes.slice(0, want);
  }
  return prefixes;
}
