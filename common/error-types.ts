// ApplicationFailure types the controller raises and the lifecycle acts on: one home for their names; and the
// one test of whether an attachment still holds its ENI, shared by the activities and the workflow.

export const ERROR_TYPES = {
  /** The device index asked for is taken on the instance: the workflow moves to the next free one. */
  deviceIndexConflict: 'DeviceIndexConflict',
  /** The ENI vanished while the workflow waited for its attachment. */
  eniGone: 'EniGone',
  /** The attachment waited for was replaced or is detaching. */
  attachmentLost: 'AttachmentLost',
  /** A subnet or security-group name matches several resources in the node's VPC. */
  ambiguousName: 'AmbiguousName',
  /** Every network interface slot of the instance's type is taken: the ENI waits for one (not deleted). */
  noFreeDeviceIndex: 'NoFreeDeviceIndex',
  /** The node's instance does not carry this cluster's tag: the controller will not put an ENI on it. */
  instanceNotInCluster: 'InstanceNotInCluster',
  /** A subnet or security group of another VPC, or a subnet of another AZ, than the node's instance. */
  networkNotUsable: 'NetworkNotUsable',
} as const;

/** An attachment that holds the ENI on an instance: not on its way off. */
export function isLiveAttachment(a: { status?: string } | undefined): boolean {
  return !!a && a.status !== 'detaching' && a.status !== 'detached';
}
