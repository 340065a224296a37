// The proxy's mutable state, in one typed object: the configuration a test set, the token buckets, the calls
// counted, what it learnt from moto, and what it keeps for EC2's rules that moto lacks (ClientTokens, the
// `attaching` and `detaching` windows, delegated prefixes, held answers). One object a proxy, made by createState.
import type { TokenBucket } from '../ec2-buckets.js';
import type { Answer } from './answers.js';
import { Calls } from './calls.js';
import { DEFAULT_BUCKETS, DEFAULT_FAULTS, DEFAULT_SEMANTICS, type Buckets, type Faults, type Semantics } from './config.js';
import { seededRandom } from './faults.js';

/** An answer withheld from its caller until a test releases it (`PUT /_proxy/hold`). */
export interface HeldAnswer {
  action: string;
  params: Record<string, string>;
  body: string;
  send: () => void;
}

/** A DetachNetworkInterface answered at once and forwarded to moto when its `detaching` window ends. */
export interface DeferredDetach {
  timer: NodeJS.Timeout;
  run: () => Promise<void>;
}

/** What a test sets through the control API, and what `POST /_proxy/reset` puts back. */
interface Config {
  faults: Faults;
  /** Draws the faults; re-seeded by every PUT of the faults. */
  rand: () => number;
  semantics: Semantics;
  /** Draws the `attaching` and `detaching` windows; re-seeded by every PUT of the semantics. */
  windowRand: () => number;
  buckets: Buckets;
  // The buckets' clock: wall time plus what a test advanced it by (`POST /_proxy/clock/advance`), so a test can
  // watch a bucket refill without sleeping.
  clockOffsetMs: number;
  bucketState: Map<string, TokenBucket>;
}

export interface ProxyState extends Config {
  calls: Calls;
  // What does not change for the life of a resource, learnt once from moto: instance → type and AZ, instance
  // type → interface limit, subnet → VPC.
  instanceInfo: Map<string, Promise<{ type?: string; az?: string } | undefined>>;
  typeInfo: Map<string, Promise<{ maxInterfaces?: number; ipv4PerInterface?: number } | undefined>>;
  subnetInfo: Map<string, Promise<{ vpcId?: string; cidr?: string } | undefined>>;
  groupVpc: Map<string, Promise<string | undefined>>;
  // ClientToken → the first call's answer (a promise, so a retry that arrives mid-flight waits for it).
  tokens: Map<string, { request: string; answer: Promise<Answer> }>;
  attachingUntil: Map<string, number>; // ENI id → epoch ms
  attachmentEni: Map<string, string>; // attachment id → ENI id, learnt from attach answers
  detaching: Map<string, DeferredDetach>; // ENI id → deferred detach
  /** Attaches in flight per instance (the device-index check is per instance). */
  attachQueues: Map<string, Promise<unknown>>;
  /** Address and prefix allocations in flight per subnet, so two cannot pick the same free block. */
  subnetQueues: Map<string, Promise<unknown>>;
  // ENI id → its delegated IPv4 prefixes (moto has no prefixes: the proxy holds them, for its own life).
  eniPrefixes: Map<string, string[]>;
  eniSubnet: Map<string, string>; // ENI id → subnet, for the ENIs in eniPrefixes
  // Crash tests: the next `count` calls of `action` are carried out at the target, but their answers are
  // withheld until released, so a test can kill the caller between "EC2 did it" and "the caller knows".
  hold: { action: string; count: number } | undefined;
  held: HeldAnswer[];
}

function defaultConfig(): Config {
  return {
    faults: { ...DEFAULT_FAULTS },
    rand: seededRandom(DEFAULT_FAULTS.seed),
    semantics: { ...DEFAULT_SEMANTICS },
    windowRand: seededRandom(DEFAULT_SEMANTICS.seed),
    buckets: { ...DEFAULT_BUCKETS },
    clockOffsetMs: 0,
    bucketState: new Map(),
  };
}

export function createState(): ProxyState {
  return {
    ...defaultConfig(),
    calls: new Calls(),
    instanceInfo: new Map(),
    typeInfo: new Map(),
    subnetInfo: new Map(),
    groupVpc: new Map(),
    tokens: new Map(),
    attachingUntil: new Map(),
    attachmentEni: new Map(),
    detaching: new Map(),
    attachQueues: new Map(),
    subnetQueues: new Map(),
    eniPrefixes: new Map(),
    eniSubnet: new Map(),
    hold: undefined,
    held: [],
  };
}

/**
 * `POST /_proxy/reset` once the pending detaches are flushed and the held answers sent: the configuration back to
 * its defaults, the buckets full, the counts, ClientTokens, windows and prefixes forgotten. What the proxy learnt
 * from moto about instances, types, subnets and groups stays (it does not change).
 */
export function resetState(state: ProxyState): void {
  Object.assign(state, defaultConfig());
  state.calls.reset();
  state.tokens = new Map();
  state.attachingUntil.clear();
  state.attachmentEni.clear();
  state.eniPrefixes.clear();
  state.eniSubnet.clear();
}

/** The buckets' clock (see `clockOffsetMs`). */
export const clockNow = (state: ProxyState) => Date.now() + state.clockOffsetMs;

export const subnetHasPrefixes = (state: ProxyState, subnet: string) =>
  [...state.eniSubnet].some(([eni, s]) => s === subnet && (state.eniPrefixes.get(eni)?.length ?? 0) > 0);

/** Runs `run` after every earlier call with the same key has settled (a per-key queue). */
export function serialized<T>(queues: Map<string, Promise<unknown>>, key: string, run: () => Promise<T>): Promise<T> {
  const result = (queues.get(key) ?? Promise.resolve()).then(run, run);
  const tail = result.catch(() => undefined);
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return result;
}
