// UnassignPrivateIpAddresses: the IPv4 prefixes the proxy delegated go back to the subnet.
import type http from 'node:http';
import { queryList } from '../../ec2-addresses.js';
import { eniNotFound, errorAnswer, okXml, type Answer } from '../answers.js';
import type { Forward, ProxyContext } from '../context.js';
import { describeEnis } from '../lookups.js';
import { withoutKeys } from '../query.js';

/**
 * UnassignPrivateIpAddresses with Ipv4Prefix.N: each prefix must be the ENI's (EC2 refuses the call otherwise,
 * InvalidParameterValue); the addresses (PrivateIpAddress.N) go to moto as before.
 */
export async function unassignPrivateIpAddresses(ctx: ProxyContext, params: Map<string, string>, headers: http.IncomingHttpHeaders, fwd: Forward): Promise<Answer> {
  const eniPrefixes = ctx.state.eniPrefixes;
  const eniId = params.get('NetworkInterfaceId') ?? '';
  const named = queryList(params, 'Ipv4Prefix');
  if (named.length === 0) return fwd();
  const self = (await describeEnis(ctx, headers, 'network-interface-id', eniId))?.[0];
  if (!self) return eniNotFound(eniId);
  const held = eniPrefixes.get(eniId) ?? [];
  const missing = named.filter((p) => !held.includes(p));
  if (missing.length > 0) return errorAnswer(400, 'InvalidParameterValue', `Some of the specified prefixes are not assigned to interface ${eniId}: ${missing.join(', ')}`);
  if (queryList(params, 'PrivateIpAddress').length > 0) {
    const a = await fwd(withoutKeys(params, /^Ipv4Prefix\..*$/));
    if (a.status !== 200) return a;
  }
  eniPrefixes.set(eniId, held.filter((p) => !named.includes(p)));
  return okXml('UnassignPrivateIpAddresses');
}
