// A small HTTP proxy between @aws-sdk/client-ec2 and moto that makes the emulator as strict as EC2 (test
// infrastructure). moto is more lenient than EC2 (see /work/shared/reference/local-stack.md); this proxy puts back,
// by default, the rules the code under test must live by: EC2's per-API token buckets (dev/stack/ec2-buckets.ts),
// ClientToken idempotency, the `attaching` and `detaching` windows, device-index conflicts, attachments only within
// the instance's availability zone and up to its instance type's interface limit, security groups only from the
// subnet's VPC, in-use refusals, IPv4 prefix delegation (which moto lacks; allocation in ./ec2-addresses.ts) and
// the instance type's IPv4 addresses per interface. Latency, coin-toss throttling and 5xx are faults a test turns on. A test that
// needs leniency turns a rule off by name (`PUT /_proxy/semantics`, `PUT /_proxy/buckets`). Tests drive it through
// `/_proxy/*`.
import http from 'node:http';
import type { z } from 'zod';
import {
  addressProblem,
  allocateAddresses,
  allocatePrefixes,
  assignAddressRequest,
  assignPrivateIpAddressesXml,
  createAddressRequest,
  ipToInt,
  ipv4Count,
  parseCidr,
  prefixProblem,
  queryList,
  withIpv4Prefixes,
  withTaken,
  type SubnetUsage,
} from './ec2-addresses.js';
import { TokenBucket, bucketFor, type BucketSpec } from './ec2-buckets.js';
import { Calls, outcomeOf, type CallRecord } from './ec2-proxy/calls.js';
import { BucketsSchema, DEFAULT_BUCKETS, DEFAULT_FAULTS, DEFAULT_SEMANTICS, FaultsSchema, SemanticsSchema, drawWindow, mergeConfig, type Buckets, type Faults, type Semantics } from './ec2-proxy/config.js';
import { keyParams, parseForm, withoutKeys } from './ec2-proxy/query.js';
import { ec2ErrorXml, errorCodeOf, mapNetworkInterfaceItems, parseInstance, parseNetworkInterfaces, parseSecurityGroups, rewriteAttachmentStatus, summarizeEniItem, tagValue, type EniSummary } from './ec2-proxy/xml.js';

export { BucketsSchema, DEFAULT_BUCKETS, DEFAULT_FAULTS, DEFAULT_SEMANTICS, FaultsSchema, SemanticsSchema, drawWindow, mergeConfig } from './ec2-proxy/config.js';
export type { Buckets, Faults, Semantics, WindowSpec } from './ec2-proxy/config.js';
export { keyParams, parseForm } from './ec2-proxy/query.js';
export {
  ec2ErrorXml,
  errorCodeOf,
  mapNetworkInterfaceItems,
  mapTopLevelItems,
  parseInstance,
  parseNetworkInterfaces,
  parseSecurityGroups,
  rewriteAttachmentStatus,
  summarizeEniItem,
} from './ec2-proxy/xml.js';
export type { EniSummary } from './ec2-proxy/xml.js';
export { outcomeOf } from './ec2-proxy/calls.js';
export type { ActionCounts, BucketCounts, CallRecord, CallsReport, Outcome } from './ec2-proxy/calls.js';

const EC2_NS = 'http://ec2.amazonaws.com/doc/2016-11-15';
const CONTROL_PREFIX = '/_proxy';

// ---------------------------------------------------------------------------------------------------
// Pure helpers (unit-tested in ec2-proxy.test.ts)

/** mulberry32: tiny seeded PRNG, so a run with the same seed throttles the same calls. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type FaultDecision = 'none' | 'throttle' | 'serverError';

/** One draw per call that the fault config targets, so the sequence depends only on the seed and the calls. */
export function decideFault(faults: Faults, action: string, rand: () => number): FaultDecision {
  if (faults.actions && !faults.actions.includes(action)) return 'none';
  if (faults.throttleRate === 0 && faults.serverErrorRate === 0) return 'none';
  const r = rand();
  if (r < faults.throttleRate) return 'throttle';
  if (r < faults.throttleRate + faults.serverErrorRate) return 'serverError';
  return 'none';
}

// ---------------------------------------------------------------------------------------------------
// The proxy

export interface Ec2ProxyOptions {
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** moto's base URL, e.g. http://127.0.0.1:5000 */
  target: string;
  log?: (line: string) => void;
}

export interface Ec2Proxy {
  port: number;
  url: string;
  close(): Promise<void>;
}

interface Answer {
  status: number;
  headers: http.OutgoingHttpHeaders;
  body: Buffer;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
let requestSeq = 0;
const requestId = () => `ec2-proxy-${Date.now().toString(36)}-${(++requestSeq).toString(36)}`;

function xmlAnswer(status: number, xml: string): Answer {
  return { status, headers: { 'content-type': 'text/xml;charset=UTF-8' }, body: Buffer.from(xml) };
}
const errorAnswer = (status: number, code: string, message: string) => xmlAnswer(status, ec2ErrorXml(code, message, requestId()));
const inUse = (eni: string) => errorAnswer(400, 'InvalidNetworkInterface.InUse', `The network interface '${eni}' is currently in use.`);

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Runs `run` after every earlier call with the same key has settled (a per-key queue). */
function serialized<T>(queues: Map<string, Promise<unknown>>, key: string, run: () => Promise<T>): Promise<T> {
  const result = (queues.get(key) ?? Promise.resolve()).then(run, run);
  const tail = result.catch(() => undefined);
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return result;
}

/** A forward of the caller's request to moto, or of `params` in its place (the proxy rewrote it). */
type Forward = (params?: ReadonlyMap<string, string>) => Promise<Answer>;


const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host', 'proxy-connection', 'upgrade']);

export async function startEc2Proxy(opts: Ec2ProxyOptions): Promise<Ec2Proxy> {
  const target = new URL(opts.target);
  const log = opts.log ?? (() => undefined);
  let faults: Faults = { ...DEFAULT_FAULTS };
  let semantics: Semantics = { ...DEFAULT_SEMANTICS };
  let rand = seededRandom(faults.seed);
  let windowRand = seededRandom(semantics.seed);
  let buckets: Buckets = { ...DEFAULT_BUCKETS };
  // The buckets' clock: wall time plus what a test advanced it by (`POST /_proxy/clock/advance`), so a test can
  // watch a bucket refill without sleeping.
  let clockOffsetMs = 0;
  const now = () => Date.now() + clockOffsetMs;
  let bucketState = new Map<string, TokenBucket>();
  const calls = new Calls();
  // What does not change for the life of a resource, learnt once from moto: instance → type and AZ, instance
  // type → interface limit, subnet → VPC.
  const instanceInfo = new Map<string, Promise<{ type?: string; az?: string } | undefined>>();
  const typeInfo = new Map<string, Promise<{ maxInterfaces?: number; ipv4PerInterface?: number } | undefined>>();
  const subnetInfo = new Map<string, Promise<{ vpcId?: string; cidr?: string } | undefined>>();
  const groupVpc = new Map<string, Promise<string | undefined>>();
  // ClientToken → the first call's answer (a promise, so a retry that arrives mid-flight waits for it).
  let tokens = new Map<string, { request: string; answer: Promise<Answer> }>();
  const attachingUntil = new Map<string, number>(); // ENI id → epoch ms
  const attachmentEni = new Map<string, string>(); // attachment id → ENI id, learnt from attach answers
  const detaching = new Map<string, { timer: NodeJS.Timeout; run: () => Promise<void> }>(); // ENI id → deferred detach
  /** Attaches in flight per instance (the device-index check is per instance). */
  const attachQueues = new Map<string, Promise<unknown>>();
  /** Address and prefix allocations in flight per subnet, so two cannot pick the same free block. */
  const subnetQueues = new Map<string, Promise<unknown>>();
  // ENI id → its delegated IPv4 prefixes (moto has no prefixes: the proxy holds them, for its own life).
  const eniPrefixes = new Map<string, string[]>();
  const eniSubnet = new Map<string, string>(); // ENI id → subnet, for the ENIs in eniPrefixes
  const subnetHasPrefixes = (subnet: string) => [...eniSubnet].some(([eni, s]) => s === subnet && (eniPrefixes.get(eni)?.length ?? 0) > 0);
  // Crash tests: the next `count` calls of `action` are carried out at the target, but their answers are
  // withheld until released, so a test can kill the caller between "EC2 did it" and "the caller knows".
  let hold: { action: string; count: number } | undefined;
  const held: { action: string; params: Record<string, string>; body: string; send: () => void }[] = [];

  function forward(method: string, path: string, headers: http.IncomingHttpHeaders, body: Buffer): Promise<Answer> {
    const out: http.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) out[k] = v;
    out['content-length'] = body.length;
    return new Promise((resolve, reject) => {
      const req = http.request({ hostname: target.hostname, port: target.port, method, path, headers: out }, (res) => {
        readBody(res).then((b) => {
          const h: http.OutgoingHttpHeaders = {};
          for (const [k, v] of Object.entries(res.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) h[k] = v;
          resolve({ status: res.statusCode ?? 502, headers: h, body: b });
        }, reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** An internal call against moto. It reuses the caller's Authorization header: moto routes to EC2 (and picks
   * the region) from its credential scope. Not counted as a call, takes no token. */
  async function internal(headers: http.IncomingHttpHeaders, params: Record<string, string>): Promise<Answer | undefined> {
    const body = new URLSearchParams({ Version: '2016-11-15', ...params });
    const h = { authorization: headers.authorization, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };
    return forward('POST', '/', h, Buffer.from(body.toString())).catch(() => undefined);
  }

  async function describeEnis(headers: http.IncomingHttpHeaders, filter: string, value: string): Promise<EniSummary[] | undefined> {
    const a = await internal(headers, { Action: 'DescribeNetworkInterfaces', 'Filter.1.Name': filter, 'Filter.1.Value.1': value });
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

  const instanceOf = (headers: http.IncomingHttpHeaders, id: string) =>
    once(instanceInfo, id, async () => {
      const a = await internal(headers, { Action: 'DescribeInstances', 'InstanceId.1': id });
      return a?.status === 200 ? parseInstance(a.body.toString()) : undefined;
    });

  /** An instance type's network limits (DescribeInstanceTypes NetworkInfo, the data moto ships). */
  const instanceTypeOf = (headers: http.IncomingHttpHeaders, type: string) =>
    once(typeInfo, type, async () => {
      const a = await internal(headers, { Action: 'DescribeInstanceTypes', 'InstanceType.1': type });
      if (a?.status !== 200) return undefined;
      const xml = a.body.toString();
      const num = (tag: string) => {
        const v = tagValue(xml, tag);
        return v === undefined ? undefined : Number(v);
      };
      return { maxInterfaces: num('maximumNetworkInterfaces'), ipv4PerInterface: num('ipv4AddressesPerInterface') };
    });
  const interfaceLimitOf = async (headers: http.IncomingHttpHeaders, type: string) => (await instanceTypeOf(headers, type))?.maxInterfaces;

  const subnetOf = (headers: http.IncomingHttpHeaders, id: string) =>
    once(subnetInfo, id, async () => {
      const a = await internal(headers, { Action: 'DescribeSubnets', 'SubnetId.1': id });
      if (a?.status !== 200) return undefined;
      const xml = a.body.toString();
      const vpcId = tagValue(xml, 'vpcId');
      return vpcId ? { vpcId, cidr: tagValue(xml, 'cidrBlock') } : undefined;
    });
  const vpcOfSubnet = async (headers: http.IncomingHttpHeaders, id: string) => (await subnetOf(headers, id))?.vpcId;

  /** A group's VPC; undefined when EC2 does not know the group. */
  const vpcOfGroup = (headers: http.IncomingHttpHeaders, id: string) =>
    once(groupVpc, id, async () => {
      const a = await internal(headers, { Action: 'DescribeSecurityGroups', 'GroupId.1': id });
      return a?.status === 200 ? (parseSecurityGroups(a.body.toString())[0]?.vpcId ?? '') : undefined;
    });

  /**
   * EC2's refusal of a create (or a security-group change) whose groups are unknown or outside the VPC of the
   * ENI's subnet, if any.
   */
  async function securityGroupRefusal(params: Map<string, string>, headers: http.IncomingHttpHeaders): Promise<Answer | undefined> {
    const groups = [...params].filter(([k]) => /^SecurityGroupId\.\d+$/.test(k)).map(([, v]) => v);
    if (groups.length === 0) return undefined;
    const eniId = params.get('NetworkInterfaceId');
    const eni = eniId ? (await describeEnis(headers, 'network-interface-id', eniId))?.[0] : undefined;
    const subnet = params.get('SubnetId') ?? eni?.subnetId;
    if (!subnet) return undefined;
    const vpc = eni?.vpcId ?? (await vpcOfSubnet(headers, subnet));
    if (!vpc) return undefined; // unknown subnet or ENI: moto answers its NotFound
    for (const g of groups) {
      const gv = await vpcOfGroup(headers, g);
      // moto would create an unknown group on the fly; EC2 refuses it.
      if (gv === undefined) return errorAnswer(400, 'InvalidGroup.NotFound', `The security group '${g}' does not exist`);
      // CreateNetworkInterface: the groups must belong to the subnet's VPC ("... belong to different networks").
      if (gv !== vpc) return errorAnswer(400, 'InvalidParameter', `Security group ${g} and subnet ${subnet} belong to different networks.`);
    }
    return undefined;
  }

  function okXml(action: string): Answer {
    return xmlAnswer(200, `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_NS}"><requestId>${requestId()}</requestId><return>true</return></${action}Response>`);
  }

  async function createNetworkInterface(params: Map<string, string>, headers: http.IncomingHttpHeaders, fwd: Forward): Promise<Answer & { replayed?: boolean }> {
    if (semantics.securityGroupVpc) {
      const refused = await securityGroupRefusal(params, headers);
      if (refused) return refused;
    }
    const create = () => (semantics.ipv4Prefixes ? createWithAddresses(params, headers, fwd) : fwd());
    const token = params.get('ClientToken');
    if (!semantics.clientToken || !token) return create();
    const rest = [...params].filter(([k]) => k !== 'ClientToken').sort(([a], [b]) => a.localeCompare(b));
    const request = JSON.stringify(rest);
    const seen = tokens.get(token);
    if (seen) {
      if (seen.request !== request) return errorAnswer(400, 'IdempotentParameterMismatch', `Client token '${token}' has already been used with different parameters.`);
      const first = await seen.answer.catch(() => undefined);
      if (first && first.status < 300) return { ...first, replayed: true };
      // The first call failed: EC2 lets a failed token be retried, so this one goes through as new.
    }
    const answer = create();
    tokens.set(token, { request, answer });
    const a = await answer.catch((e: unknown) => {
      tokens.delete(token);
      throw e;
    });
    if (a.status >= 300 && tokens.get(token)?.answer === answer) tokens.delete(token);
    return a;
  }

  /** What is in use in a subnet (every ENI's private addresses, the prefixes the proxy delegated), and its ENIs. */
  async function subnetUsage(headers: http.IncomingHttpHeaders, subnetId: string): Promise<{ usage: SubnetUsage; enis: EniSummary[] } | undefined> {
    const [info, enis] = await Promise.all([subnetOf(headers, subnetId), describeEnis(headers, 'subnet-id', subnetId)]);
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
      for (const p of eniPrefixes.get(e.id) ?? []) prefixes.add(parseCidr(p)!.base);
    }
    return { usage: { subnet, addresses, prefixes }, enis };
  }

  const eniNotFound = (eni: string) => errorAnswer(400, 'InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${eni}' does not exist`);
  // EC2 error codes (API Reference, "Error codes for the Amazon EC2 API"): InvalidIPAddress.InUse "The specified
  // IP address is already in use"; InsufficientFreeAddressesInSubnet "The specified subnet does not contain enough
  // free private IP addresses to fulfill your request"; InsufficientCidrBlocks "The specified subnet does not have
  // enough contiguous CIDR blocks" (what EC2 answers a prefix request the subnet has no free /28 for).
  const addressInUse = (ip: string) => errorAnswer(400, 'InvalidIPAddress.InUse', `Address ${ip} is in use.`);
  const noFreeAddresses = (subnet: string) => errorAnswer(400, 'InsufficientFreeAddressesInSubnet', `The specified subnet ${subnet} does not contain enough free private IP addresses to fulfill your request.`);
  const noFreePrefixes = (subnet: string) => errorAnswer(400, 'InsufficientCidrBlocks', `The specified subnet ${subnet} does not have enough contiguous CIDR blocks to fulfill your request.`);

  /** EC2's refusal of the addresses a caller named in a subnet, if any. */
  function namedRefusal(u: SubnetUsage, addresses: readonly string[], prefixes: readonly string[]): Answer | undefined {
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

  /**
   * CreateNetworkInterface with the ENI's private addresses chosen by the proxy (passed to moto as explicit
   * addresses) and its IPv4 prefixes delegated. CreateNetworkInterface (EC2 API Reference): Ipv4PrefixCount and
   * Ipv4Prefix.N exclude each other, and either excludes "specific private IPv4 addresses, or a count of private
   * IPv4 addresses"; SecondaryPrivateIpAddressCount excludes more than one address in PrivateIpAddresses. A
   * static primary (PrivateIpAddress) is taken with prefixes. A plain create (no address or prefix asked for) in a
   * subnet where no prefix is delegated goes to moto unchanged.
   */
  async function createWithAddresses(params: Map<string, string>, headers: http.IncomingHttpHeaders, fwd: Forward): Promise<Answer> {
    const subnetId = params.get('SubnetId');
    const req = createAddressRequest(params);
    if ('error' in req) return errorAnswer(400, req.error.code, req.error.message);
    const { namedPrimary, namedSecondaries, secondaryCount, namedPrefixes, prefixCount, plain } = req;
    if (!subnetId) return fwd();
    // Serialised per subnet, plain creates too, so that no address moto picks lands in a block being delegated.
    return serialized(subnetQueues, subnetId, async () => {
      // A plain create in a subnet where no prefix is delegated: moto picks the address, as it always did, and the
      // fleet's path costs no describe of the subnet. (moto's random pick may repeat another ENI's address.)
      if (plain && !subnetHasPrefixes(subnetId)) return fwd();
      const su = await subnetUsage(headers, subnetId);
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
      eniPrefixes.set(id, prefixes);
      eniSubnet.set(id, subnetId);
      return { ...a, body: Buffer.from(withIpv4Prefixes(xml, prefixes, '</networkInterface>')) };
    });
  }

  /** An attached ENI's instance type's Ipv4AddressesPerInterface, if the address limit applies to it. */
  async function addressLimitOf(headers: http.IncomingHttpHeaders, eni: EniSummary): Promise<{ limit: number; type: string } | undefined> {
    const instance = eni.attachment?.instanceId;
    if (!semantics.addressLimit || !instance) return undefined;
    const type = (await instanceOf(headers, instance))?.type;
    const limit = type ? (await instanceTypeOf(headers, type))?.ipv4PerInterface : undefined;
    return type && limit !== undefined ? { limit, type } : undefined;
  }

  // PrivateIpAddressLimitExceeded (EC2 API Reference, error codes: "You've reached the limit on the number of
  // private IP addresses that you can assign to the specified network interface for that type of instance"),
  // with the message EC2 gives on AssignPrivateIpAddresses.
  const limitExceeded = (eni: string) => errorAnswer(400, 'PrivateIpAddressLimitExceeded', `${eni}: Number of private addresses will exceed limit.`);

  /**
   * AssignPrivateIpAddresses (EC2 API Reference): PrivateIpAddress.N or SecondaryPrivateIpAddressCount, and/or
   * Ipv4Prefix.N or Ipv4PrefixCount; answers the ENI and what this call assigned (assignedPrivateIpAddressesSet,
   * assignedIpv4PrefixSet). "The number of secondary IP addresses that you can assign to an instance varies by
   * instance type": the limit applies to an attached ENI; an unattached one has no instance type, and EC2 checks
   * its addresses when it is attached (attachRefusal).
   */
  async function assignPrivateIpAddresses(params: Map<string, string>, headers: http.IncomingHttpHeaders, fwd: Forward): Promise<Answer> {
    const eniId = params.get('NetworkInterfaceId') ?? '';
    const req = assignAddressRequest(params);
    if ('error' in req) return errorAnswer(400, req.error.code, req.error.message);
    const { namedIps, namedPrefixes, count, prefixCount } = req;
    if (req.empty) return fwd();
    const self = (await describeEnis(headers, 'network-interface-id', eniId))?.[0];
    if (!self?.subnetId) return eniNotFound(eniId);
    if (!semantics.ipv4Prefixes) {
      // Only the limit: moto picks the addresses, and knows no prefixes.
      const limit = await addressLimitOf(headers, self);
      const own = new Set(self.privateIps ?? []);
      const adding = count ?? namedIps.filter((ip) => !own.has(ip)).length;
      return limit && ipv4Count(own.size + adding, 0) > limit.limit ? limitExceeded(eniId) : fwd();
    }
    const subnetId = self.subnetId;
    return serialized(subnetQueues, subnetId, async () => {
      const su = await subnetUsage(headers, subnetId);
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
      const held = eniPrefixes.get(eniId) ?? [];
      const limit = await addressLimitOf(headers, eni);
      if (limit && ipv4Count(own.size + ips.length, held.length + prefixes.length) > limit.limit) return limitExceeded(eniId);
      if (ips.length > 0) {
        const rewritten = withoutKeys(params, /^(SecondaryPrivateIpAddressCount|Ipv4PrefixCount|Ipv4Prefix\..*|PrivateIpAddress\..*)$/);
        ips.forEach((ip, i) => rewritten.set(`PrivateIpAddress.${i + 1}`, ip));
        const a = await fwd(rewritten);
        if (a.status !== 200) return a;
      }
      if (prefixes.length > 0) {
        eniPrefixes.set(eniId, [...held, ...prefixes]);
        eniSubnet.set(eniId, subnetId);
      }
      return xmlAnswer(200, assignPrivateIpAddressesXml(EC2_NS, requestId(), eniId, ips, prefixes));
    });
  }

  /**
   * UnassignPrivateIpAddresses with Ipv4Prefix.N: each prefix must be the ENI's (EC2 refuses the call otherwise,
   * InvalidParameterValue); the addresses (PrivateIpAddress.N) go to moto as before.
   */
  async function unassignPrivateIpAddresses(params: Map<string, string>, headers: http.IncomingHttpHeaders, fwd: Forward): Promise<Answer> {
    const eniId = params.get('NetworkInterfaceId') ?? '';
    const named = queryList(params, 'Ipv4Prefix');
    if (named.length === 0) return fwd();
    const self = (await describeEnis(headers, 'network-interface-id', eniId))?.[0];
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

  /** EC2's refusal of this attach, if any: the rules moto does not enforce, each behind its semantics switch. */
  async function attachRefusal(eni: string, instance: string, index: number, headers: http.IncomingHttpHeaders): Promise<Answer | undefined> {
    const s = semantics;
    if (!s.deviceIndexConflicts && !s.availabilityZone && !s.interfaceLimit && !s.addressLimit) return undefined;
    const [onInstance, selfList, info] = await Promise.all([
      describeEnis(headers, 'attachment.instance-id', instance),
      describeEnis(headers, 'network-interface-id', eni),
      s.availabilityZone || s.interfaceLimit || s.addressLimit ? instanceOf(headers, instance) : undefined,
    ]);
    const self = selfList?.[0];
    if (s.deviceIndexConflicts && self?.attachment) return errorAnswer(400, 'InvalidNetworkInterface.InUse', `Interface: [${eni}] in use.`);
    // AttachNetworkInterface (EC2 API Reference): "You can attach a network interface to an instance in the same
    // Availability Zone" only; EC2 refuses another AZ's with InvalidParameterCombination.
    if (s.availabilityZone && self?.availabilityZone && info?.az && self.availabilityZone !== info.az) {
      return errorAnswer(400, 'InvalidParameterCombination', `You may not attach a network interface to an instance if they are not in the same availability zone`);
    }
    // The instance type's MaximumNetworkInterfaces (DescribeInstanceTypes, the data moto ships) counts every
    // attached interface, the primary included; device indexes run from 0 to that number less one (EC2 User
    // Guide, "Maximum IP addresses per network interface"; error code AttachmentLimitExceeded).
    if (s.interfaceLimit && info?.type) {
      const limit = await interfaceLimitOf(headers, info.type);
      const attached = onInstance?.length ?? 0;
      if (limit !== undefined && attached >= limit) return errorAnswer(400, 'AttachmentLimitExceeded', `Interface count ${attached + 1} exceeds the limit for ${info.type}`);
      if (limit !== undefined && index >= limit) return errorAnswer(400, 'AttachmentLimitExceeded', `Device index ${index} exceeds the limit for ${info.type} (${limit} network interfaces)`);
    }
    // An ENI holding more IPv4 addresses (primary, secondaries, each /28 prefix as one) than the instance type's
    // Ipv4AddressesPerInterface cannot be attached to it (EC2 User Guide, "IP addresses per network interface per
    // instance type"; the address count of an unattached ENI is checked here, when it gets an instance type).
    if (s.addressLimit && info?.type && self) {
      const limit = (await instanceTypeOf(headers, info.type))?.ipv4PerInterface;
      const held = ipv4Count(self.privateIps?.length ?? 0, eniPrefixes.get(eni)?.length ?? 0);
      if (limit !== undefined && held > limit) return limitExceeded(eni);
    }
    if (s.deviceIndexConflicts && onInstance?.some((e) => e.attachment?.deviceIndex === index)) {
      return errorAnswer(400, 'InvalidParameterValue', `Instance '${instance}' already has an interface attached at device index '${index}'.`);
    }
    return undefined;
  }

  async function attachNetworkInterface(params: Map<string, string>, headers: http.IncomingHttpHeaders, fwd: () => Promise<Answer>): Promise<Answer & { windowMs?: number }> {
    const eni = params.get('NetworkInterfaceId') ?? '';
    const instance = params.get('InstanceId') ?? '';
    const index = Number(params.get('DeviceIndex'));
    // Serialised per instance, so two concurrent attaches to one instance cannot both pass the conflict check
    // before either reaches moto; attaches to different instances run in parallel, as in EC2.
    const run = async (): Promise<Answer & { windowMs?: number }> => {
      const refused = await attachRefusal(eni, instance, index, headers);
      if (refused) return refused;
      const a = await fwd();
      if (a.status !== 200) return a;
      const attachmentId = tagValue(a.body.toString(), 'attachmentId');
      if (attachmentId) attachmentEni.set(attachmentId, eni);
      const windowMs = drawWindow(semantics.attachingMs, windowRand);
      if (windowMs > 0) attachingUntil.set(eni, Date.now() + windowMs);
      return { ...a, windowMs };
    };
    return serialized(attachQueues, instance, run);
  }

  async function detachNetworkInterface(params: Map<string, string>, headers: http.IncomingHttpHeaders, fwd: () => Promise<Answer>): Promise<Answer & { deferred?: boolean; windowMs?: number }> {
    const attachmentId = params.get('AttachmentId') ?? '';
    const windowMs = drawWindow(semantics.detachingMs, windowRand);
    if (windowMs === 0) return fwd();
    let eni = attachmentEni.get(attachmentId);
    if (!eni) eni = (await describeEnis(headers, 'attachment.attachment-id', attachmentId))?.[0]?.id;
    if (!eni) return fwd(); // unknown attachment: moto answers InvalidAttachmentID.NotFound
    if (detaching.has(eni)) return { ...okXml('DetachNetworkInterface'), deferred: true };
    // EC2 answers at once and detaches later; the real detach reaches moto when the window ends.
    const id = eni;
    let done: Promise<void> | undefined;
    // Runs once, whether the timer fires or a reset flushes it first.
    const run = () =>
      (done ??= (async () => {
        clearTimeout(entry.timer);
        const a = await fwd();
        if (a.status !== 200) log(`ec2-proxy: deferred detach of ${id} (${attachmentId}) failed: HTTP ${a.status} ${errorCodeOf(a.body.toString()) ?? ''}`);
        if (detaching.get(id) === entry) detaching.delete(id);
        attachmentEni.delete(attachmentId);
      })());
    const entry = { timer: setTimeout(() => void run(), windowMs), run };
    detaching.set(id, entry);
    attachingUntil.delete(id);
    return { ...okXml('DetachNetworkInterface'), deferred: true, windowMs };
  }

  async function deleteNetworkInterface(params: Map<string, string>, headers: http.IncomingHttpHeaders, fwd: () => Promise<Answer>): Promise<Answer> {
    const eni = params.get('NetworkInterfaceId') ?? '';
    if (detaching.has(eni)) return inUse(eni);
    if (semantics.refuseDeleteInUse) {
      const self = await describeEnis(headers, 'network-interface-id', eni);
      if (self?.[0]?.status === 'in-use') return inUse(eni);
    }
    const a = await fwd();
    if (a.status === 200) {
      eniPrefixes.delete(eni); // its prefixes go back to the subnet
      eniSubnet.delete(eni);
    }
    return a;
  }

  async function describeNetworkInterfaces(fwd: () => Promise<Answer>): Promise<Answer> {
    const a = await fwd();
    const now = Date.now();
    const status = new Map<string, string>();
    for (const [eni, until] of attachingUntil) {
      if (until <= now) attachingUntil.delete(eni);
      else status.set(eni, 'attaching');
    }
    for (const eni of detaching.keys()) status.set(eni, 'detaching');
    if (a.status !== 200 || (status.size === 0 && eniPrefixes.size === 0)) return a;
    let xml = rewriteAttachmentStatus(a.body.toString(), status);
    if (eniPrefixes.size > 0) {
      xml = mapNetworkInterfaceItems(xml, (item) => {
        const prefixes = eniPrefixes.get(summarizeEniItem(item)?.id ?? '');
        return prefixes?.length ? withIpv4Prefixes(item, prefixes) : item;
      });
    }
    return { ...a, body: Buffer.from(xml) };
  }

  async function handleEc2(req: http.IncomingMessage, body: Buffer): Promise<{ answer: Answer; rec?: Omit<CallRecord, 'at' | 'ms'> }> {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const params = parseForm(req.method === 'POST' ? body.toString() : url.search.slice(1));
    const action = params.get('Action');
    let forwarded = false;
    const fwd: Forward = (rewritten) => {
      forwarded = true;
      const sent = rewritten
        ? forward('POST', '/', { ...req.headers, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, Buffer.from(new URLSearchParams([...rewritten]).toString()))
        : forward(req.method ?? 'GET', req.url ?? '/', req.headers, body);
      // moto unreachable: a 5xx, which the SDK retries like any transient server error, and which is counted.
      return sent.catch((e: unknown) => {
        log(`ec2-proxy: ${req.method} ${req.url} (${action}): ${String(e)}`);
        return errorAnswer(502, 'InternalError', `ec2-proxy: the target did not answer: ${String(e)}`);
      });
    };
    if (!action) return { answer: await fwd() }; // not an EC2 query call (e.g. /moto-api): passed through, not counted

    // The bucket first: a request EC2 throttles does nothing, whatever else it asked.
    const bucket = bucketFor(action, params, buckets.overrides);
    const admitted = !buckets.enabled || takeToken(bucket.key, bucket.spec);
    const fault = admitted ? decideFault(faults, action, rand) : 'throttle';
    if (faults.latencyMs > 0 && (!faults.actions || faults.actions.includes(action))) await sleep(faults.latencyMs);
    let answer: Answer & { replayed?: boolean; windowMs?: number };
    if (fault === 'throttle') answer = errorAnswer(503, 'RequestLimitExceeded', 'Request limit exceeded.');
    else if (fault === 'serverError') answer = errorAnswer(500, 'InternalError', 'An internal error has occurred.');
    else if (action === 'CreateNetworkInterface') answer = await createNetworkInterface(params, req.headers, fwd);
    else if (action === 'AttachNetworkInterface') answer = await attachNetworkInterface(params, req.headers, fwd);
    else if (action === 'DetachNetworkInterface') answer = await detachNetworkInterface(params, req.headers, fwd);
    else if (action === 'DeleteNetworkInterface') answer = await deleteNetworkInterface(params, req.headers, fwd);
    else if (action === 'DescribeNetworkInterfaces') answer = await describeNetworkInterfaces(fwd);
    else if (action === 'AssignPrivateIpAddresses' && (semantics.ipv4Prefixes || semantics.addressLimit)) answer = await assignPrivateIpAddresses(params, req.headers, fwd);
    else if (action === 'UnassignPrivateIpAddresses' && semantics.ipv4Prefixes) answer = await unassignPrivateIpAddresses(params, req.headers, fwd);
    else if (action === 'ModifyNetworkInterfaceAttribute' && semantics.securityGroupVpc) answer = (await securityGroupRefusal(params, req.headers)) ?? (await fwd());
    else answer = await fwd();
    // A deferred detach is forwarded later by a timer; this call itself was answered by the proxy.
    const { replayed, deferred, windowMs, ...plain } = answer as Answer & { replayed?: boolean; deferred?: boolean; windowMs?: number };
    const rec = {
      action,
      params: keyParams(params),
      status: plain.status,
      outcome: outcomeOf(plain.status, plain.body.toString()),
      forwarded: forwarded && !deferred,
      bucket: bucket.key,
      ...(replayed ? { replayed } : {}),
      ...(windowMs !== undefined && plain.status === 200 ? { windowMs } : {}),
    };
    return { answer: plain, rec };
  }

  function takeToken(key: string, spec: BucketSpec): boolean {
    let b = bucketState.get(key);
    if (!b || b.spec.capacity !== spec.capacity || b.spec.refillPerSecond !== spec.refillPerSecond) {
      b = new TokenBucket(spec, now());
      bucketState.set(key, b);
    }
    return b.take(now());
  }

  function bucketsView() {
    const t = now();
    return {
      ...buckets,
      nowMs: t,
      buckets: Object.fromEntries([...bucketState].map(([k, b]) => [k, { ...b.spec, tokens: Math.round(b.tokens(t) * 1000) / 1000 }])),
    };
  }

  function json(res: http.ServerResponse, status: number, value: unknown): void {
    const b = Buffer.from(JSON.stringify(value));
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': b.length });
    res.end(b);
  }

  /** Forwards every pending detach now, so moto matches what the clients were told. */
  async function flushDetaches(): Promise<void> {
    await Promise.all([...detaching.values()].map((d) => d.run()));
  }

  async function handleControl(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> {
    const route = `${req.method} ${(req.url ?? '').split('?')[0]!.slice(CONTROL_PREFIX.length)}`;
    const put = <T extends object>(schema: z.ZodType<T>, current: T, set: (v: T) => void) => {
      let patch: unknown;
      try {
        patch = JSON.parse(body.toString() || '{}');
      } catch {
        return json(res, 400, { error: 'body is not JSON' });
      }
      const r = mergeConfig(schema, current, patch);
      if (!r.ok) return json(res, 400, { error: r.error });
      set(r.value);
      json(res, 200, r.value);
    };
    switch (route) {
      case 'GET /health':
        return json(res, 200, { ok: true, target: target.origin });
      case 'GET /calls':
        return json(res, 200, calls.snapshot());
      case 'POST /calls/reset':
        calls.reset();
        return json(res, 200, { ok: true });
      case 'GET /faults':
        return json(res, 200, faults);
      case 'PUT /faults':
        // Every PUT re-seeds, so the same PUT followed by the same calls gives the same faults.
        return put(FaultsSchema, faults, (v) => {
          faults = v;
          rand = seededRandom(v.seed);
        });
      case 'PUT /hold': {
        const h = JSON.parse(body.toString() || '{}') as { action?: unknown; count?: unknown };
        if (typeof h.action !== 'string' || !(typeof h.count === 'number' && h.count >= 0)) return json(res, 400, { error: 'hold needs { action: string, count: number >= 0 }' });
        hold = { action: h.action, count: h.count };
        return json(res, 200, hold);
      }
      case 'GET /held':
        return json(res, 200, held.map(({ action, params, body: b }) => ({ action, params, body: b })));
      case 'POST /held/release':
        hold = undefined;
        for (const h of held.splice(0)) h.send();
        return json(res, 200, { ok: true });
      case 'GET /semantics':
        return json(res, 200, semantics);
      case 'PUT /semantics':
        return put(SemanticsSchema, semantics, (v) => {
          semantics = v;
          windowRand = seededRandom(v.seed);
        });
      case 'GET /buckets':
        return json(res, 200, bucketsView());
      case 'PUT /buckets':
        // Every PUT starts the buckets full, so a test that sets limits starts from a known state.
        return put(BucketsSchema, buckets, (v) => {
          buckets = v;
          bucketState = new Map();
        });
      case 'POST /clock/advance': {
        const ms = (JSON.parse(body.toString() || '{}') as { ms?: unknown }).ms;
        if (typeof ms !== 'number' || !(ms >= 0) || ms > 86_400_000) return json(res, 400, { error: 'clock/advance needs { ms: number from 0 to 86400000 }' });
        clockOffsetMs += ms;
        return json(res, 200, bucketsView());
      }
      case 'POST /reset':
        await flushDetaches();
        hold = undefined;
        for (const h of held.splice(0)) h.send();
        faults = { ...DEFAULT_FAULTS };
        rand = seededRandom(faults.seed);
        semantics = { ...DEFAULT_SEMANTICS };
        windowRand = seededRandom(semantics.seed);
        buckets = { ...DEFAULT_BUCKETS };
        bucketState = new Map();
        clockOffsetMs = 0;
        calls.reset();
        tokens = new Map();
        attachingUntil.clear();
        attachmentEni.clear();
        eniPrefixes.clear();
        eniSubnet.clear();
        return json(res, 200, { ok: true });
      default:
        return json(res, 404, { error: `no control route ${route}` });
    }
  }

  const server = http.createServer((req, res) => {
    const t0 = Date.now();
    void (async () => {
      try {
        const body = await readBody(req);
        if ((req.url ?? '').startsWith(`${CONTROL_PREFIX}/`)) return await handleControl(req, res, body);
        const { answer, rec } = await handleEc2(req, body);
        if (rec) calls.add({ at: new Date(t0).toISOString(), ...rec, ms: Date.now() - t0 });
        const send = () => {
          if (res.destroyed) return; // the caller is gone (killed): nothing to answer
          res.writeHead(answer.status, { ...answer.headers, 'content-length': answer.body.length });
          res.end(answer.body);
        };
        if (rec && hold && hold.action === rec.action && hold.count > 0 && answer.status === 200) {
          hold.count--;
          held.push({ action: rec.action, params: rec.params, body: answer.body.toString(), send });
          return;
        }
        send();
      } catch (e) {
        // The request itself broke (a control-route bug, a client gone): answer what we still can.
        log(`ec2-proxy: ${req.method} ${req.url}: ${String(e)}`);
        if (res.headersSent) return void res.end();
        const b = Buffer.from(ec2ErrorXml('InternalError', `ec2-proxy: ${String(e)}`, requestId()));
        res.writeHead(502, { 'content-type': 'text/xml', 'content-length': b.length });
        res.end(b);
      }
    })();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  return {
    port,
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    /** Pending deferred detaches are dropped, not flushed: closing is for the end of a run, when moto goes too. */
    async close() {
      for (const d of detaching.values()) clearTimeout(d.timer);
      detaching.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}