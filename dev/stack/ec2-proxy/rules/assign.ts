// AssignPrivateIpAddresses: addresses and IPv4 prefixes chosen by the proxy, within the instance type's limit.
import type http from 'node:http';
import { allocateAddresses, allocatePrefixes, assignAddressRequest, assignPrivateIpAddressesXml, ipv4Count, withTaken } from '../../ec2-addresses.js';
import { EC2_NS, eniNotFound, errorAnswer, requestId, xmlAnswer, type Answer } from '../answers.js';
import type { Forward, ProxyContext } from '../context.js';
import { describeEnis } from '../lookups.js';
import { withoutKeys } from '../query.js';
import { serialized } from '../state.js';
import { addressLimitOf, limitExceeded, namedRefusal, noFreeAddresses, noFreePrefixes, subnetUsage } from './addresses.js';

/**
 * AssignPrivateIpAddresses (EC2 API Reference): PrivateIpAddress.N or SecondaryPrivateIpAddressCount, and/or
 * Ipv4Prefix.N or Ipv4PrefixCount; answers the ENI and what this call assigned (assignedPrivateIpAddressesSet,
 * assignedIpv4PrefixSet). "The number of secondary IP addresses that you can assign to an instance varies by
 * instance type": the limit applies to an attached ENI; an unattached one has no instance type, and EC2 checks
 * its addresses when it is attached (attachRefusal).
 */
export async function assignPrivateIpAddresses(ctx: ProxyContext, params: Map<string, string>, headers: http.IncomingHttpHeaders, fwd: Forward): Promise<Answer> {
  const state = ctx.state;
  const eniId = params.get('NetworkInterfaceId') ?? '';
  const req = assignAddressRequest(params);
  if ('error' in req) return errorAnswer(400, req.error.code, req.error.message);
  const { namedIps, namedPrefixes, count, prefixCount } = req;
  if (req.empty) return fwd();
  const self = (await describeEnis(ctx, headers, 'network-interface-id', eniId))?.[0];
  if (!self?.subnetId) return eniNotFound(eniId);
  if (!state.semantics.ipv4Prefixes) {
    // Only the limit: moto picks the addresses, and knows no prefixes.
    const limit = await addressLimitOf(ctx, headers, self);
    const own = new Set(self.privateIps ?? []);
    const adding = count ?? namedIps.filter((ip) => !own.has(ip)).length;
    return limit && ipv4Count(own.size + adding, 0) > limit.limit ? limitExceeded(eniId) : fwd();
  }
  const subnetId = self.subnetId;
  return serialized(state.subnetQueues, subnetId, async () => {
    const su = await subnetUsage(ctx, headers, subnetId);
    const eni = su?.enis.find((e) => e.id === eniId);
    if (!su || !eni) return eniNotFound(eniId);
    const own = new Set(eni.privateIps ?? []);
    const newNamed = namedIps.filter((ip) => !own.has(ip)); // already this ENI's: nothing to do, as moto does
    const refused = namedRefusal(su.usage, newNamed, namedPrefixes);
    if (refused) return refused;
    let u = withTaken(su.usage, newNamed, namedPrefixes);
    const ips = count ? allocateAddresses(u, count) : newNamed;
    if (!ips) return noFreeAddresses(subnetId);
    u = withTaken(u, ips, []);
    const prefixes = prefixCount ? allocatePrefixes(u, prefixCount) : namedPrefixes;
    if (!prefixes) return noFreePrefixes(subnetId);
    const held = state.eniPrefixes.get(eniId) ?? [];
    const limit = await addressLimitOf(ctx, headers, eni);
    if (limit && ipv4Count(own.size + ips.length, held.length + prefixes.length) > limit.limit) return limitExceeded(eniId);
    if (ips.length > 0) {
      const rewritten = withoutKeys(params, /^(SecondaryPrivateIpAddressCount|Ipv4PrefixCount|Ipv4Prefix\..*|PrivateIpAddress\..*)$/);
      ips.forEach((ip, i) => rewritten.set(`PrivateIpAddress.${i + 1}`, ip));
      const a = await fwd(rewritten);
      if (a.status !== 200) return a;
    }
    if (prefixes.length > 0) {
      state.eniPrefixes.set(eniId, [...held, ...prefixes]);
      state.eniSubnet.set(eniId, subnetId);
    }
    return xmlAnswer(200, assignPrivateIpAddressesXml(EC2_NS, requestId(), eniId, ips, prefixes));
  });
}
