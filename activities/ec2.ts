// EC2 activities: small, idempotent, retry-safe. Each is a thin adapter from Temporal (the activity's context, its
// heartbeats, its first scheduling) to the EC2 providers under activities/aws/, which hold the lookups, caches and
// batching. Retries and backoff belong to Temporal (the SDK client makes one attempt), so the EC2 call count stays
// visible and bounded. The names, inputs and results are the contract in common/ec2-contract.ts.
import { Context } from '@temporalio/activity';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Ec2Activities, InspectPairInput, InspectPairResult } from '../common/ec2-contract.js';
import type { InstanceFacts } from '../common/device-slots.js';
import { ec2ApiOf } from './aws/ec2-api.js';
import { ec2Failure } from './aws/ec2-failure.js';
import { toEniInfo } from './aws/eni-info.js';
import { ensureAddresses } from './aws/eni-address-changes.js';
import { createEc2Providers, type Ec2Providers } from './aws/providers.js';
import { DescribeFailed, TransitionPoller, type WaitOptions, type WaitProgress } from './aws/transition-poller.js';


export interface Ec2ActivityDeps {
  ec2: EC2Client;
  clusterName: string;
  /** How long subnet and security-group lookups are reused. */
  lookupTtlMs?: number;
  /** Poll interval of the waits (attach/detach). */
  pollMs?: number;
  /** How long a pair's describe waits for other pairs' to go out with it (ms). */
  batchDelayMs?: number;
  /** The process's shared attach/detach poller; default: one made here with pollMs. */
  poller?: TransitionPoller;
  /** Heartbeat interval of the waits; default 5000. */
  heartbeatMs?: number;
  now?: () => Date;
  /**
   * Fails unless Node `nodeName` exists and is instance `instanceId` (activities/node-check.ts); the worker always
   * sets it. Run before a pair is planned and before each attach.
   */
  nodeCheck?: (nodeName: string, instanceId: string) => Promise<void>;
}

/** Waits on the shared poller, heartbeating what it last saw every `heartbeatMs`; cancellation removes the waiter. */
async function awaitTransition<T>(heartbeatMs: number, start: (o: WaitOptions) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  let progress: WaitProgress = { status: 'waiting', polls: 0 };
  const beat = setInterval(() => ctx.heartbeat(progress), heartbeatMs);
  try {
    return await start({ signal: ctx.cancellationSignal, onPoll: (p) => (progress = p) });
  } catch (err) {
    throw err instanceof DescribeFailed ? ec2Failure('DescribeNetworkInterfaces', err.cause) : err;
  } finally {
    clearInterval(beat);
  }
}

/** The instance type's limits as inspectPair reports them, each only when known. */
function typeLimitsOf(facts: InstanceFacts): Pick<InspectPairResult, 'maxInterfaces' | 'addressLimit'> {
  return {
    ...(facts.maxInterfaces === undefined ? {} : { maxInterfaces: facts.maxInterfaces }),
    ...(facts.maxIpv4PerInterface === undefined ? {} : { addressLimit: { instanceType: facts.instanceType, ipv4PerInterface: facts.maxIpv4PerInterface } }),
  };
}

/**
 * The network, the pair's ENIs, the instance's cluster check and the Node check, run concurrently. The first
 * failure in that order of blame is thrown: a Node or instance that is not this cluster's, then a bad reference
 * (the user's to fix, whatever else failed), then the describe.
 */
async function inspectPair(p: Ec2Providers, nodeCheck: (nodeName: string, instanceId: string) => Promise<void>, input: InspectPairInput): Promise<InspectPairResult> {
  const [network, pair, instance, node] = await Promise.allSettled([
    p.network.resolve(input),
    p.enis.ofPair(input),
    p.instances.ofCluster(input.instanceId),
    nodeCheck(input.nodeName, input.instanceId),
  ]);
  if (node.status === 'rejected') throw node.reason;
  if (instance.status === 'rejected') throw instance.reason;
  if (network.status === 'rejected') throw network.reason;
  if (pair.status === 'rejected') throw pair.reason;
  return { network: network.value, ...pair.value, ...typeLimitsOf(instance.value) };
}

export function createEc2Activities(deps: Ec2ActivityDeps): Ec2Activities {
  const ec2 = ec2ApiOf(deps.ec2);
  const p = createEc2Providers(ec2, deps);
  const poller = deps.poller ?? new TransitionPoller({ ec2, pollMs: deps.pollMs ?? 1000 });
  const heartbeatMs = deps.heartbeatMs ?? 5000;
  const now = deps.now ?? (() => new Date());
  const nodeCheck = async (nodeName: string, instanceId: string): Promise<void> => deps.nodeCheck?.(nodeName, instanceId);

  return {
    resolveNetwork: async (refs) => p.network.resolve(refs),
    describePair: async (input) => p.enis.ofPair(input),
    inspectPair: async (input) => inspectPair(p, nodeCheck, input),
    // Stamped with the activity's first scheduling, not the attempt's clock: a retry must repeat the exact request.
    createEni: async (input) => p.writer.create(input, new Date(Context.current().info.scheduledTimestampMs).toISOString()),
    ensureTags: async (input) => p.writer.ensureTags(input, now().toISOString()),
    ensureAddresses: async (input) => ensureAddresses(ec2, p.enis, input),
    setSourceDestCheck: async (input) => p.writer.setSourceDestCheck(input.eniId, input.value),
    setSecurityGroups: async (input) => p.writer.setSecurityGroups(input.eniId, input.securityGroupIds),
    async attachEni(input) {
      // The Node must still name this instance: a node replaced since the pass's inspectPair gets nothing attached.
      await nodeCheck(input.nodeName, input.instanceId);
      return p.attacher.attach(input, await p.instances.ofCluster(input.instanceId));
    },
    async waitAttached(input) {
      // DeleteOnTermination is returned as written, not read back (moto ignores it).
      const eni = toEniInfo(await awaitTransition(heartbeatMs, (o) => poller.waitAttached(input, o)));
      const dot = input.deleteOnTermination;
      if (dot === undefined || !eni.attachment || eni.attachment.deleteOnTermination === dot) return eni;
      await p.writer.setDeleteOnTermination(input.eniId, input.attachmentId, dot);
      return { ...eni, attachment: { ...eni.attachment, deleteOnTermination: dot } };
    },
    setDeleteOnTermination: async (input) => p.writer.setDeleteOnTermination(input.eniId, input.attachmentId, input.value),
    detachEni: async (input) => p.writer.detach(input),
    async waitDetached(input) {
      await awaitTransition(heartbeatMs, (o) => poller.waitDetached(input, o));
    },
    deleteEni: async (input) => p.writer.delete(input.eniId),
    listClusterEnis: async () => p.enis.ofCluster(deps.clusterName),
  };
}
