// What the proxy asks moto itself (internal calls, neither counted nor throttled): ENIs by filter, and what does
// not change for the life of a resource, memoised in the state: an instance's type and AZ, an instance type's
// network limits, a subnet's VPC and CIDR, a security group's VPC.
import type http from 'node:http';
import type { ProxyContext } from './context.js';
import { parseInstance, parseNetworkInterfaces, parseSecurityGroups, tagValue, type EniSummary } from './xml.js';

type Headers = http.IncomingHttpHeaders;

export async function describeEnis(ctx: ProxyContext, headers: Headers, filter: string, value: string): Promise<EniSummary[] | undefined> {
  const a = await ctx.upstream.internal(headers, { Action: 'DescribeNetworkInterfaces', 'Filter.1.Name': filter, 'Filter.1.Value.1': value });
  return a?.status === 200 ? parseNetworkInterfaces(a.body.toString()) : undefined;
}

/** Memoises a lookup; a failed one (undefined) is asked again next time. */
function once<T>(cache: Map<string, Promise<T | undefined>>, key: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
  let p = cache.get(key);
  if (!p) {
    p = load();
    cache.set(key, p);
    void p.then((v) => v === undefined && cache.get(key) === p && cache.delete(key));
  }
  return p;
}

export const instanceOf = (ctx: ProxyContext, headers: Headers, id: string) =>
  once(ctx.state.instanceInfo, id, async () => {
    const a = await ctx.upstream.internal(headers, { Action: 'DescribeInstances', 'InstanceId.1': id });
    return a?.status === 200 ? parseInstance(a.body.toString()) : undefined;
  });

/** An instance type's network limits (DescribeInstanceTypes NetworkInfo, the data moto ships). */
export const instanceTypeOf = (ctx: ProxyContext, headers: Headers, type: string) =>
  once(ctx.state.typeInfo, type, async () => {
    const a = await ctx.upstream.internal(headers, { Action: 'DescribeInstanceTypes', 'InstanceType.1': type });
    if (a?.status !== 200) return undefined;
    const xml = a.body.toString();
    const num = (tag: string) => {
      const v = tagValue(xml, tag);
      return v === undefined ? undefined : Number(v);
    };
    return { maxInterfaces: num('maximumNetworkInterfaces'), ipv4PerInterface: num('ipv4AddressesPerInterface') };
  });
export const interfaceLimitOf = async (ctx: ProxyContext, headers: Headers, type: string) => (await instanceTypeOf(ctx, headers, type))?.maxInterfaces;

export const subnetOf = (ctx: ProxyContext, headers: Headers, id: string) =>
  once(ctx.state.subnetInfo, id, async () => {
    const a = await ctx.upstream.internal(headers, { Action: 'DescribeSubnets', 'SubnetId.1': id });
    if (a?.status !== 200) return undefined;
    const xml = a.body.toString();
    const vpcId = tagValue(xml, 'vpcId');
    return vpcId ? { vpcId, cidr: tagValue(xml, 'cidrBlock') } : undefined;
  });
export const vpcOfSubnet = async (ctx: ProxyContext, headers: Headers, id: string) => (await subnetOf(ctx, headers, id))?.vpcId;

/** A group's VPC; undefined when EC2 does not know the group. */
export const vpcOfGroup = (ctx: ProxyContext, headers: Headers, id: string) =>
  once(ctx.state.groupVpc, id, async () => {
    const a = await ctx.upstream.internal(headers, { Action: 'DescribeSecurityGroups', 'GroupId.1': id });
    return a?.status === 200 ? (parseSecurityGroups(a.body.toString())[0]?.vpcId ?? '') : undefined;
  });
