// EC2's NetworkInterface as the contract's EniInfo (common/ec2-contract.ts). Pure.
import type { NetworkInterface } from '@aws-sdk/client-ec2';
import type { EniInfo } from '../../common/ec2-contract.js';
import type { EniAddresses } from '../../common/eni-addresses.js';

export function toEniInfo(n: NetworkInterface): EniInfo {
  const tags: Record<string, string> = {};
  for (const t of n.TagSet ?? []) if (t.Key) tags[t.Key] = t.Value ?? '';
  return {
    eniId: n.NetworkInterfaceId!,
    subnetId: n.SubnetId ?? '',
    vpcId: n.VpcId,
    status: n.Status ?? 'unknown',
    macAddress: n.MacAddress,
    description: n.Description,
    securityGroupIds: (n.Groups ?? []).map((g) => g.GroupId!).filter(Boolean),
    ...(n.SourceDestCheck !== undefined ? { sourceDestCheck: n.SourceDestCheck } : {}),
    ...eniAddresses(n),
    tags,
    ...(n.Attachment?.AttachmentId
      ? {
          attachment: {
            attachmentId: n.Attachment.AttachmentId,
            instanceId: n.Attachment.InstanceId,
            deviceIndex: n.Attachment.DeviceIndex,
            status: n.Attachment.Status,
            deleteOnTermination: n.Attachment.DeleteOnTermination,
          },
        }
      : {}),
  };
}

/** The ENI's addresses; the lists only when not empty (every pair's inspect answer carries them). */
export function eniAddresses(n: NetworkInterface): EniAddresses {
  const secondaryIps = (n.PrivateIpAddresses ?? []).filter((p) => !p.Primary && p.PrivateIpAddress).map((p) => p.PrivateIpAddress!);
  const prefixes = (n.Ipv4Prefixes ?? []).map((p) => p.Ipv4Prefix).filter((p): p is string => !!p);
  return {
    ...(n.PrivateIpAddress ? { privateIp: n.PrivateIpAddress } : {}),
    ...(secondaryIps.length ? { secondaryIps } : {}),
    ...(prefixes.length ? { prefixes } : {}),
  };
}

/** The device indexes the ENIs' attachments hold, each once, in order. */
export function usedIndexes(enis: readonly EniInfo[]): number[] {
  const used = enis.map((e) => e.attachment?.deviceIndex).filter((i): i is number => i !== undefined);
  return [...new Set(used)].sort((a, b) => a - b);
}
