// Reading ENIs. The pairs converging at once ask for their node's ENIs (by tag) and their instance's (by
// attachment): one describe per batch answers them all. Every describe is filtered (EC2's larger bucket) and paged.
import type { Filter } from '@aws-sdk/client-ec2';
import type { EniInfo, PairEnis, PairRef } from '../../common/ec2-contract.js';
import { TAG_CLUSTER, TAG_NODE, TAG_NODEENI } from '../../common/names.js';
import type { Ec2Api } from './ec2-api.js';
import { ec2Call } from './ec2-failure.js';
import { toEniInfo, usedIndexes } from './eni-info.js';
import { KeyBatcher, groupByKey, type KeyBatcherOptions } from './key-batcher.js';

const ACTION = 'DescribeNetworkInterfaces';

export class NetworkInterfaceProvider {
  private readonly byNode: KeyBatcher<EniInfo[]>;
  private readonly byInstance: KeyBatcher<EniInfo[]>;

  constructor(
    private readonly ec2: Pick<Ec2Api, 'describeNetworkInterfaces'>,
    batch: KeyBatcherOptions,
  ) {
    this.byNode = new KeyBatcher(async (nodes) => groupByKey(nodes, await this.describe([{ Name: `tag:${TAG_NODE}`, Values: nodes }]), (e) => e.tags[TAG_NODE]), () => [], batch);
    this.byInstance = new KeyBatcher(
      async (ids) => groupByKey(ids, await this.describe([{ Name: 'attachment.instance-id', Values: ids }]), (e) => e.attachment?.instanceId),
      () => [],
      batch,
    );
  }

  /** Every ENI the filters match, all pages. */
  async describe(filters: Filter[]): Promise<EniInfo[]> {
    const out: EniInfo[] = [];
    let token: string | undefined;
    do {
      const r = await ec2Call(ACTION, () => this.ec2.describeNetworkInterfaces({ Filters: filters, NextToken: token }));
      out.push(...(r.NetworkInterfaces ?? []).map(toEniInfo));
      token = r.NextToken;
    } while (token);
    return out;
  }

  /** One ENI by ID, or undefined when EC2 no longer has it. A filter, not NetworkInterfaceIds: EC2's larger bucket. */
  async one(eniId: string): Promise<EniInfo | undefined> {
    const found = await this.describe([{ Name: 'network-interface-id', Values: [eniId] }]);
    return found.find((e) => e.eniId === eniId);
  }

  /** The pair's ENIs (by its node's and NodeENI's tags) and the device indexes in use on its instance (batched). */
  async ofPair(pair: PairRef): Promise<PairEnis> {
    const [onNode, onInstance] = await Promise.all([this.byNode.get(pair.nodeName), this.byInstance.get(pair.instanceId)]);
    const owned = onNode.filter((e) => e.tags[TAG_NODEENI] === pair.nodeENI);
    return { owned, usedDeviceIndexes: usedIndexes(onInstance) };
  }

  /** Device indexes held on the instance now (a detaching attachment still holds its index), read afresh. */
  async indexesInUse(instanceId: string): Promise<number[]> {
    return usedIndexes(await this.describe([{ Name: 'attachment.instance-id', Values: [instanceId] }]));
  }

  /** Every ENI the cluster's controller tagged: one paged, bulk describe. */
  async ofCluster(clusterName: string): Promise<EniInfo[]> {
    return this.describe([{ Name: `tag:${TAG_CLUSTER}`, Values: [clusterName] }]);
  }
}
