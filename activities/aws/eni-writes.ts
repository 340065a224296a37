// Creating, tagging, modifying, detaching and deleting ENIs: one EC2 call each, idempotent (a create by its
// ClientToken, a detach or delete of what is already gone is success), so Temporal's retries are safe.
import type { AddressRequest, CreateEniInput, DetachEniInput, EnsureTagsInput, EniInfo } from '../../common/ec2-contract.js';
import type { Ec2Api } from './ec2-api.js';
import { errorCode } from './ec2-errors.js';
import { ec2Call, ec2Failure } from './ec2-failure.js';
import { toEniInfo } from './eni-info.js';
import { adoptionTags, creationTags } from './eni-tags.js';

/**
 * The addresses a create asks for, so the ENI has them before it is attached. EC2 refuses a prefix count together
 * with specific addresses or a count of them (CreateNetworkInterface, Ipv4PrefixCount): prefixes then follow in
 * ensureAddresses, after the create.
 */
export function createAddressParams(a: (AddressRequest & { primaryIPv4Address?: string }) | undefined): {
  SecondaryPrivateIpAddressCount?: number;
  Ipv4PrefixCount?: number;
  PrivateIpAddress?: string;
} {
  if (!a) return {};
  const withAddresses = !!a.secondaryIPv4Count || !!a.primaryIPv4Address;
  return {
    ...(a.secondaryIPv4Count ? { SecondaryPrivateIpAddressCount: a.secondaryIPv4Count } : {}),
    ...(a.primaryIPv4Address ? { PrivateIpAddress: a.primaryIPv4Address } : {}),
    ...(a.ipv4PrefixCount && !withAddresses ? { Ipv4PrefixCount: a.ipv4PrefixCount } : {}),
  };
}

/** Deterministic ClientToken (EC2 allows 64 ASCII characters): a retried create returns the same ENI. */
export async function clientToken(key: string): Promise<string> {
  const { createHash } = await import('node:crypto');
  return `mneni-${createHash('sha256').update(key).digest('hex').slice(0, 48)}`;
}

const tagList = (tags: Record<string, string>) => Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
const MODIFY = 'ModifyNetworkInterfaceAttribute';

export class EniWriter {
  constructor(
    private readonly ec2: Pick<Ec2Api, 'createNetworkInterface' | 'createTags' | 'modifyNetworkInterfaceAttribute' | 'detachNetworkInterface' | 'deleteNetworkInterface'>,
    private readonly clusterName: string,
  ) {}

  /**
   * Creates the ENI with its tags, stamped `createdAt`. A retry must repeat the exact request (same key, same
   * stamp), or EC2 refuses the ClientToken with IdempotentParameterMismatch.
   */
  async create(input: CreateEniInput, createdAt: string): Promise<EniInfo> {
    const token = await clientToken(input.tokenKey);
    const tags = creationTags({ ...input, clusterName: this.clusterName }, createdAt);
    const r = await ec2Call('CreateNetworkInterface', () =>
      this.ec2.createNetworkInterface({
        SubnetId: input.subnetId,
        Groups: input.securityGroupIds,
        Description: input.description ?? `ENI created by nodeeni-controller for node ${input.nodeName}`,
        ClientToken: token,
        ...createAddressParams(input.addresses),
        TagSpecifications: [{ ResourceType: 'network-interface', Tags: tagList(tags) }],
      }),
    );
    return toEniInfo(r.NetworkInterface!);
  }

  /** Writes the identity tags that are missing or different (adoption), stamped `now`; returns what it wrote. */
  async ensureTags(input: EnsureTagsInput, now: string): Promise<Record<string, string>> {
    const write = adoptionTags(input.current, { ...input, clusterName: this.clusterName }, now);
    if (Object.keys(write).length === 0) return write;
    await ec2Call('CreateTags', () => this.ec2.createTags({ Resources: [input.eniId], Tags: tagList(write) }));
    return write;
  }

  async setSourceDestCheck(eniId: string, value: boolean): Promise<void> {
    await ec2Call(MODIFY, () => this.ec2.modifyNetworkInterfaceAttribute({ NetworkInterfaceId: eniId, SourceDestCheck: { Value: value } }));
  }

  async setSecurityGroups(eniId: string, securityGroupIds: string[]): Promise<void> {
    await ec2Call(MODIFY, () => this.ec2.modifyNetworkInterfaceAttribute({ NetworkInterfaceId: eniId, Groups: securityGroupIds }));
  }

  async setDeleteOnTermination(eniId: string, attachmentId: string, value: boolean): Promise<void> {
    await ec2Call(MODIFY, () => this.ec2.modifyNetworkInterfaceAttribute({ NetworkInterfaceId: eniId, Attachment: { AttachmentId: attachmentId, DeleteOnTermination: value } }));
  }

  /** Detaches; an attachment already gone is success. */
  async detach(input: DetachEniInput): Promise<void> {
    try {
      await this.ec2.detachNetworkInterface({ AttachmentId: input.attachmentId, Force: input.force ?? false });
    } catch (err) {
      const code = errorCode(err);
      if (code === 'InvalidAttachmentID.NotFound' || code === 'InvalidNetworkInterfaceID.NotFound') return;
      throw ec2Failure('DetachNetworkInterface', err);
    }
  }

  /** Deletes; an ENI already gone is success. */
  async delete(eniId: string): Promise<void> {
    try {
      await this.ec2.deleteNetworkInterface({ NetworkInterfaceId: eniId });
    } catch (err) {
      if (errorCode(err) === 'InvalidNetworkInterfaceID.NotFound') return;
      throw ec2Failure('DeleteNetworkInterface', err);
    }
  }
}
