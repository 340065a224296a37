// The nodes' instances: VPC, AZ, type, tags and the type's limits. The instances of the pairs converging at once
// are described together (one DescribeInstances per batch); an instance keeps its VPC, and its type and tags
// change rarely (a stop/start, a retag), so the facts are reused for ten minutes.
import { ApplicationFailure } from '@temporalio/activity';
import type { Instance } from '@aws-sdk/client-ec2';
import { notInCluster, type InstanceFacts } from '../../common/device-slots.js';
import { ERROR_TYPES } from '../../common/error-types.js';
import { CachedLoad } from '../ttl-cache.js';
import type { Ec2Api } from './ec2-api.js';
import { ec2Call } from './ec2-failure.js';
import type { InstanceTypeProvider } from './instance-types.js';
import { KeyBatcher, type KeyBatcherOptions } from './key-batcher.js';

type Described = Omit<InstanceFacts, 'maxInterfaces' | 'maxIpv4PerInterface'>;

const described = (inst: Instance & { InstanceId: string }): Described => ({
  instanceId: inst.InstanceId,
  vpcId: inst.VpcId,
  az: inst.Placement?.AvailabilityZone,
  instanceType: inst.InstanceType,
  tags: Object.fromEntries((inst.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
});

export class InstanceProvider {
  private readonly cache = new CachedLoad<InstanceFacts>(10 * 60_000);
  private readonly byId: KeyBatcher<Described | undefined>;

  constructor(
    private readonly ec2: Pick<Ec2Api, 'describeInstances'>,
    private readonly types: InstanceTypeProvider,
    private readonly clusterName: string,
    batch: KeyBatcherOptions,
  ) {
    this.byId = new KeyBatcher((ids) => this.describe(ids), () => undefined, batch);
  }

  /** The instance's facts (cached). Fails when EC2 does not know it. */
  async facts(instanceId: string): Promise<InstanceFacts> {
    return this.cache.get(instanceId, () => this.load(instanceId));
  }

  /** The instance's facts, or a non-retryable failure when it is not this cluster's (nothing is put on it). */
  async ofCluster(instanceId: string): Promise<InstanceFacts> {
    let facts = await this.facts(instanceId);
    if (notInCluster(facts, this.clusterName)) {
      // Read again before refusing: an instance tagged since it was cached must not wait out the cache.
      this.cache.forget(instanceId);
      facts = await this.facts(instanceId);
    }
    const why = notInCluster(facts, this.clusterName);
    if (why) throw ApplicationFailure.nonRetryable(why, ERROR_TYPES.instanceNotInCluster);
    return facts;
  }

  private async load(instanceId: string): Promise<InstanceFacts> {
    const found = await this.byId.get(instanceId);
    if (!found) throw ApplicationFailure.nonRetryable(`DescribeInstances: the node's instance ${instanceId} does not exist (terminated?)`, 'InvalidInstanceID.NotFound');
    const limits = found.instanceType ? await this.types.limits(found.instanceType) : {};
    return { ...found, ...limits };
  }

  private async describe(ids: string[]): Promise<Map<string, Described | undefined>> {
    const r = await ec2Call('DescribeInstances', () => this.ec2.describeInstances({ Filters: [{ Name: 'instance-id', Values: ids }] }));
    const out = new Map<string, Described | undefined>();
    for (const inst of (r.Reservations ?? []).flatMap((x) => x.Instances ?? [])) {
      if (inst.InstanceId) out.set(inst.InstanceId, described({ ...inst, InstanceId: inst.InstanceId }));
    }
    return out;
  }
}
