// CreateNetworkInterface: security groups of the subnet's VPC, ClientToken idempotency, and the ENI's private
// addresses and IPv4 prefixes chosen by the proxy.
import type http from 'node:http';
import { allocateAddresses, allocatePrefixes, createAddressRequest, withIpv4Prefixes, withTaken } from '../../ec2-addresses.js';
import { errorAnswer, type Answer } from '../answers.js';
import type { Forward, ProxyContext } from '../context.js';
import { withoutKeys } from '../query.js';
import { serialized, subnetHasPrefixes } from '../state.js';
import { tagValue } from '../xml.js';
import { namedRefusal, noFreeAddresses, noFreePrefixes, subnetUsage } from './addresses.js';
import { securityGroupRefusal } from './security-groups.js';

export async function createNetworkInterface(ctx: ProxyContext, params: Map<string, string>, headers: http.IncomingHttpHeaders, fwd: Forward): Promise<Answer & { replayed?: boolean }> {
  const state = ctx.state;
  if (state.semantics.securityGroupVpc) {
    const refused = await securityGroupRefusal(ctx, params, headers);
    if (refused) return refused;
  }
  const create = () => (state.semantics.ipv4Prefixes ? createWithAddresses(ctx, params, headers, fwd) : fwd());
  const token = params.get('ClientToken');
  if (!state.semantics.clientToken || !token) return create();
  const rest = [...params].filter(([k]) => k !== 'ClientToken').sort(([a], [b]) => a.localeCompare(b));
  const request = JSON.stringify(rest);
  const seen = state.tokens.get(token);
  if (seen) {
    if (seen.request !== request) return errorAnswer(400, 'IdempotentParameterMismatch', `Client token '${token}' has already been used with different parameters.`);
    const first = await seen.answer.catch(() => undefined);
    if (first && first.status < 300) return { ...first, replayed: true };
    // The first call failed: EC2 lets a failed token be retried, so this one goes through as new.
  }
  const answer = create();
  state.tokens.set(token, { request, answer });
  const a = await answer.catch((e: unknown) => {
    state.tokens.delete(token);
    throw e;
  });
  if (a.status >= 300 && state.tokens.get(token)?.answer === answer) state.tokens.delete(token);
  return a;
}

/**
 * CreateNetworkInterface with the ENI's private addresses chosen by the proxy (passed to moto as explicit
 * addresses) and its IPv4 prefixes delegated. CreateNetworkInterface (EC2 API Reference): Ipv4PrefixCount and
 * Ipv4Prefix.N exclude each other, and either excludes "specific private IPv4 addresses, or a count of private
 * IPv4 addresses"; SecondaryPrivateIpAddressCount excludes more than one address in PrivateIpAddresses. A
 * static primary (PrivateIpAddress) is taken with prefixes. A plain create (no address or prefix asked for) in a
 * subnet where no prefix is delegated goes to moto unchanged.
 */
async function createWithAddresses(ctx: ProxyContext, params: Map<string, string>, headers: http.IncomingHttpHeaders, fwd: Forward): Promise<Answer> {
  const state = ctx.state;
  const subnetId = params.get('SubnetId');
  const req = createAddressRequest(params);
  if ('error' in req) return errorAnswer(400, req.error.code, req.error.message);
  const { namedPrimary, namedSecondaries, secondaryCount, namedPrefixes, prefixCount, plain } = req;
  if (!subnetId) return fwd();
  // Serialised per subnet, plain creates too, so that no address moto picks lands in a block being delegated.
  return serialized(state.subnetQueues, subnetId, async () => {
    // A plain create in a subnet where no prefix is delegated: moto picks the address, as it always did, and the
    // fleet's path costs no describe of the subnet. (moto's random pick may repeat another ENI's address.)
    if (plain && !subnetHasPrefixes(state, subnetId)) return fwd();
    const su = await subnetUsage(ctx, headers, subnetId);
    if (!su) return fwd(); // unknown subnet: moto answers InvalidSubnetID.NotFound
    const named = namedPrimary === undefined ? namedSecondaries : [namedPrimary, ...namedSecondaries];
    const refused = namedRefusal(su.usage, named, namedPrefixes);
    if (refused) return refused;
    let u = withTaken(su.usage, named, namedPrefixes);
    const primary = namedPrimary ?? allocateAddresses(u, 1)?.[0];
    if (primary === undefined) return noFreeAddresses(subnetId);
    u = withTaken(u, [primary], []);
    const secondaries = secondaryCount ? allocateAddresses(u, secondaryCount) : namedSecondaries;
    if (!secondaries) return noFreeAddresses(subnetId);
    u = withTaken(u, secondaries, []);
    const prefixes = prefixCount ? allocatePrefixes(u, prefixCount) : namedPrefixes;
    if (!prefixes) return noFreePrefixes(subnetId);
    const rewritten = withoutKeys(params, /^(SecondaryPrivateIpAddressCount|Ipv4PrefixCount|Ipv4Prefix\..*|PrivateIpAddresses\..*|PrivateIpAddress)$/);
    rewritten.set('PrivateIpAddress', primary);
    [primary, ...secondaries].forEach((ip, i) => {
      rewritten.set(`PrivateIpAddresses.${i + 1}.PrivateIpAddress`, ip);
      rewritten.set(`PrivateIpAddresses.${i + 1}.Primary`, String(i === 0));
    });
    const a = await fwd(rewritten);
    if (a.status !== 200) return a;
    const xml = a.body.toString();
    const id = tagValue(xml, 'networkInterfaceId');
    if (!id || prefixes.length === 0) return a;
    state.eniPrefixes.set(id, prefixes);
    state.eniSubnet.set(id, subnetId);
    return { ...a, body: Buffer.from(withIpv4Prefixes(xml, prefixes, '</networkInterface>')) };
  });
}
