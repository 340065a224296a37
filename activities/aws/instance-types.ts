// An instance type's network limits (DescribeInstanceTypes): how many interfaces it takes and how many IPv4
// addresses each. They never change, so each type is read once a day at most.
import type { _InstanceType } from '@aws-sdk/client-ec2';
import type { InstanceFacts } from '../../common/device-slots.js';
import { CachedLoad } from '../ttl-cache.js';
import type { Ec2Api } from './ec2-api.js';
import { ec2Call } from './ec2-failure.js';

export type TypeLimits = Pick<InstanceFacts, 'maxInterfaces' | 'maxIpv4PerInterface'>;

export class InstanceTypeProvider {
  private readonly cache = new CachedLoad<TypeLimits>(24 * 3600_000);

  constructor(private readonly ec2: Pick<Ec2Api, 'describeInstanceTypes'>) {}

  /** The type's limits; a limit EC2 does not report is left out. */
  async limits(type: string): Promise<TypeLimits> {
    return this.cache.get(type, () => this.load(type));
  }

  private async load(type: string): Promise<TypeLimits> {
    const r = await ec2Call('DescribeInstanceTypes', () => this.ec2.describeInstanceTypes({ InstanceTypes: [type as _InstanceType] }));
    const net = r.InstanceTypes?.[0]?.NetworkInfo;
    return {
      ...(net?.MaximumNetworkInterfaces !== undefined ? { maxInterfaces: net.MaximumNetworkInterfaces } : {}),
      ...(net?.Ipv4AddressesPerInterface !== undefined ? { maxIpv4PerInterface: net.Ipv4AddressesPerInterface } : {}),
    };
  }
}
