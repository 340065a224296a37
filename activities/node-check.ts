// The controller acts only on an instance it can derive from a Node object of this cluster. A lifecycle's input
// names a node and an instance; whoever holds a Temporal credential (every node does) could start one for any
// instance ID. So before a pair is planned and before each attach, the named Node must exist and its
// spec.providerID must name that instance. Answers are kept a minute: one apiserver read per node and minute.
import { ApplicationFailure } from '@temporalio/activity';
import { ERROR_TYPES } from '../common/error-types.js';
import { instanceIdFromProviderID } from '../common/provider-id.js';
import { InFlight, TtlCache } from './ttl-cache.js';

/** A Node's spec.providerID by name: null when the cluster has no such Node, undefined when it has none set. */
export type ProviderIdLookup = (nodeName: string) => Promise<string | null | undefined>;

/** Why the controller will not act on `instanceId` as node `nodeName`; undefined when the Node names it. */
export function nodeInstanceMismatch(nodeName: string, instanceId: string, providerID: string | null | undefined): string | undefined {
  if (providerID === null) return `node ${nodeName} is not a Node of this cluster: nothing is put on instance ${instanceId}`;
  const own = instanceIdFromProviderID(providerID);
  if (own === instanceId) return undefined;
  return `instance ${instanceId} is not node ${nodeName}'s (its spec.providerID is ${providerID ? `'${providerID}'` : 'unset'}): nothing is put on it`;
}

export class NodeInstanceCheck {
  private readonly cache: TtlCache<string | null | undefined>;
  private readonly inFlight = new InFlight<string | null | undefined>();

  constructor(
    private readonly lookup: ProviderIdLookup,
    ttlMs = 60_000,
    clock: () => number = Date.now,
  ) {
    this.cache = new TtlCache(ttlMs, clock);
  }

  /** Fails non-retryably (InstanceNotInCluster) unless Node `nodeName` exists and is instance `instanceId`. */
  async check(nodeName: string, instanceId: string): Promise<void> {
    const why = nodeInstanceMismatch(nodeName, instanceId, await this.providerId(nodeName));
    if (why) throw ApplicationFailure.nonRetryable(why, ERROR_TYPES.instanceNotInCluster);
  }

  private async providerId(nodeName: string): Promise<string | null | undefined> {
    const hit = this.cache.get(nodeName);
    if (hit !== undefined) return hit;
    return this.inFlight.run(nodeName, async () => {
      const p = await this.lookup(nodeName);
      // A Node without a providerID yet (the cloud controller sets it shortly after join) is asked again next time.
      if (p !== undefined) this.cache.set(nodeName, p);
      return p;
    });
  }
}
