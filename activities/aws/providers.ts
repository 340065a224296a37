// The EC2 providers of one worker process, wired over one Ec2Api: each holds its own cache and batching.
import type { Ec2Api } from './ec2-api.js';
import { DeviceIndexAttacher } from './attachments.js';
import { EniWriter } from './eni-writes.js';
import { InstanceTypeProvider } from './instance-types.js';
import { InstanceProvider } from './instances.js';
import { NetworkResolver } from './network.js';
import { NetworkInterfaceProvider } from './network-interfaces.js';
import { SecurityGroupProvider } from './security-groups.js';
import { SubnetProvider } from './subnets.js';

export interface Ec2ProviderOptions {
  clusterName: string;
  /** How long subnet and security-group lookups are reused; default 5 min. */
  lookupTtlMs?: number;
  /** How long a pair's describe waits for other pairs' to go out with it (ms); default 100. */
  batchDelayMs?: number;
}

export function createEc2Providers(ec2: Ec2Api, o: Ec2ProviderOptions) {
  const ttl = o.lookupTtlMs ?? 5 * 60_000;
  const batch = { delayMs: o.batchDelayMs ?? 100, maxKeys: 100 };
  const instances = new InstanceProvider(ec2, new InstanceTypeProvider(ec2), o.clusterName, batch);
  const subnets = new SubnetProvider(ec2, ttl);
  const securityGroups = new SecurityGroupProvider(ec2, ttl);
  const enis = new NetworkInterfaceProvider(ec2, batch);
  return {
    instances,
    subnets,
    securityGroups,
    enis,
    network: new NetworkResolver(instances, subnets, securityGroups),
    writer: new EniWriter(ec2, o.clusterName),
    attacher: new DeviceIndexAttacher(ec2, enis),
  };
}

export type Ec2Providers = ReturnType<typeof createEc2Providers>;
