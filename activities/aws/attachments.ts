// Attaching an ENI at a free device index of its instance. Indexes this process is attaching at are reserved
// (activities/aws/index-reservations.ts), so pairs converging on one node at once take different ones without a
// refused call; an index someone else took is found by a fresh look at the instance and passed.
import { ApplicationFailure } from '@temporalio/activity';
import type { AttachEniInput, AttachEniResult } from '../../common/ec2-contract.js';
import { freeDeviceIndex, noFreeSlotMessage, type InstanceFacts } from '../../common/device-slots.js';
import { ERROR_TYPES, isLiveAttachment } from '../../common/error-types.js';
import type { Ec2Api } from './ec2-api.js';
import { classifyEc2Error } from './ec2-errors.js';
import { ec2Failure } from './ec2-failure.js';
import { IndexReservations } from './index-reservations.js';
import type { NetworkInterfaceProvider } from './network-interfaces.js';

/** Conflicts on an index someone else took that an attach moves past before it gives up. */
const MAX_CONFLICTS = 2;
/** The codes after which the ENI may already be attached where it was asked (a retry after a lost answer). */
const MAYBE_ATTACHED = new Set(['InvalidParameterValue', 'InvalidNetworkInterface.InUse', ERROR_TYPES.deviceIndexConflict]);

export class DeviceIndexAttacher {
  private readonly reservations = new IndexReservations();

  constructor(
    private readonly ec2: Pick<Ec2Api, 'attachNetworkInterface'>,
    private readonly enis: Pick<NetworkInterfaceProvider, 'one' | 'indexesInUse'>,
  ) {}

  /**
   * Attaches at the index asked for, or the next free one above it, below the instance type's limit. No slot left:
   * NoFreeDeviceIndex (the ENI waits for one). Idempotent: an ENI already attached to this instance returns that
   * attachment.
   */
  async attach(input: AttachEniInput, facts: InstanceFacts): Promise<AttachEniResult> {
    const { eniId, instanceId } = input;
    let taken = this.reservations.heldByOthers(instanceId, eniId);
    for (let conflicts = 0; ; conflicts++) {
      const index = freeDeviceIndex(input.deviceIndex, taken, facts.maxInterfaces);
      if (index === undefined) throw await this.noFreeSlot(input, facts, taken);
      this.reservations.reserve(instanceId, eniId, index);
      try {
        const answer = await this.ec2.attachNetworkInterface({ NetworkInterfaceId: eniId, InstanceId: instanceId, DeviceIndex: index });
        return { attachmentId: answer.AttachmentId!, deviceIndex: index };
      } catch (err) {
        const c = classifyEc2Error(err);
        const already = MAYBE_ATTACHED.has(c.code) ? await this.existing(input, index) : undefined;
        if (already) return already;
        // EC2's own count of the instance's interfaces: the ENI waits for a slot like any other.
        if (c.code === 'AttachmentLimitExceeded') throw ApplicationFailure.nonRetryable(`AttachNetworkInterface: ${c.code}: ${c.message}`, ERROR_TYPES.noFreeDeviceIndex);
        if (c.code !== ERROR_TYPES.deviceIndexConflict || conflicts >= MAX_CONFLICTS) throw ec2Failure('AttachNetworkInterface', err);
        // Taken by an attach this process did not make: look at the instance and move past what it holds.
        taken = [...new Set([...this.reservations.heldByOthers(instanceId, eniId), ...(await this.enis.indexesInUse(instanceId)), index])];
      } finally {
        // Held only while the call is in flight: once EC2 answered, the instance's own view tells.
        this.reservations.release(instanceId, eniId, index);
      }
    }
  }

  /** The ENI's live attachment to the instance, when it has one. */
  private async existing(input: AttachEniInput, index: number): Promise<AttachEniResult | undefined> {
    const eni = await this.enis.one(input.eniId);
    if (eni?.attachment?.instanceId === input.instanceId && isLiveAttachment(eni.attachment)) {
      return { attachmentId: eni.attachment.attachmentId, deviceIndex: eni.attachment.deviceIndex ?? index };
    }
    return undefined;
  }

  /**
   * The user's question is "what holds the slots": the instance's attachments, this process's attaches, and the
   * indexes this attach found taken on the way (a fresh look may not show yet an attach EC2 refused it for).
   */
  private async noFreeSlot(input: AttachEniInput, facts: InstanceFacts, taken: number[]): Promise<ApplicationFailure> {
    const { eniId, instanceId } = input;
    const inUse = [...new Set([...(await this.enis.indexesInUse(instanceId)), ...this.reservations.heldByOthers(instanceId, eniId), ...taken])];
    return ApplicationFailure.nonRetryable(noFreeSlotMessage(facts, inUse, input.deviceIndex), ERROR_TYPES.noFreeDeviceIndex);
  }
}
