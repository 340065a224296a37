// The part of EC2 this project uses: each command it sends, with the fields it sends and the fields it reads.
// Providers depend on this interface only, so a unit test hands them a fake; the SDK's EC2Client is adapted to it
// here and nowhere else (its middleware, the call counter and the EC2 budget, stays on the client).
import {
  AssignPrivateIpAddressesCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  CreateTagsCommand,
  DeleteNetworkInterfaceCommand,
  DescribeInstanceTypesCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DetachNetworkInterfaceCommand,
  ModifyNetworkInterfaceAttributeCommand,
  UnassignPrivateIpAddressesCommand,
  type AssignPrivateIpAddressesRequest,
  type AssignPrivateIpAddressesResult,
  type AttachNetworkInterfaceRequest,
  type AttachNetworkInterfaceResult,
  type CreateNetworkInterfaceRequest,
  type CreateNetworkInterfaceResult,
  type CreateTagsRequest,
  type DeleteNetworkInterfaceRequest,
  type DescribeInstanceTypesRequest,
  type DescribeInstanceTypesResult,
  type DescribeInstancesResult,
  type DescribeNetworkInterfacesResult,
  type DescribeSecurityGroupsResult,
  type DescribeSubnetsResult,
  type DetachNetworkInterfaceRequest,
  type EC2Client,
  type Filter,
  type ModifyNetworkInterfaceAttributeRequest,
  type UnassignPrivateIpAddressesRequest,
} from '@aws-sdk/client-ec2';

/** A describe narrowed by filters (never by IDs: a missing ID then drops out of the answer instead of failing it). */
export interface FilteredDescribe {
  Filters: Filter[];
}

export interface Ec2Api {
  describeSubnets(input: FilteredDescribe): Promise<Pick<DescribeSubnetsResult, 'Subnets'>>;
  describeSecurityGroups(input: FilteredDescribe): Promise<Pick<DescribeSecurityGroupsResult, 'SecurityGroups'>>;
  describeInstances(input: FilteredDescribe): Promise<Pick<DescribeInstancesResult, 'Reservations'>>;
  describeInstanceTypes(input: Required<Pick<DescribeInstanceTypesRequest, 'InstanceTypes'>>): Promise<Pick<DescribeInstanceTypesResult, 'InstanceTypes'>>;
  describeNetworkInterfaces(input: FilteredDescribe & { NextToken?: string }): Promise<Pick<DescribeNetworkInterfacesResult, 'NetworkInterfaces' | 'NextToken'>>;
  createNetworkInterface(
    input: Pick<CreateNetworkInterfaceRequest, 'SubnetId' | 'Groups' | 'Description' | 'ClientToken' | 'SecondaryPrivateIpAddressCount' | 'Ipv4PrefixCount' | 'PrivateIpAddress' | 'TagSpecifications'>,
  ): Promise<Pick<CreateNetworkInterfaceResult, 'NetworkInterface'>>;
  createTags(input: Pick<CreateTagsRequest, 'Resources' | 'Tags'>): Promise<unknown>;
  assignPrivateIpAddresses(
    input: Pick<AssignPrivateIpAddressesRequest, 'NetworkInterfaceId' | 'SecondaryPrivateIpAddressCount' | 'Ipv4PrefixCount'>,
  ): Promise<Pick<AssignPrivateIpAddressesResult, 'AssignedPrivateIpAddresses' | 'AssignedIpv4Prefixes'>>;
  unassignPrivateIpAddresses(input: Pick<UnassignPrivateIpAddressesRequest, 'NetworkInterfaceId' | 'PrivateIpAddresses' | 'Ipv4Prefixes'>): Promise<unknown>;
  modifyNetworkInterfaceAttribute(input: Pick<ModifyNetworkInterfaceAttributeRequest, 'NetworkInterfaceId' | 'SourceDestCheck' | 'Groups' | 'Attachment'>): Promise<unknown>;
  attachNetworkInterface(input: Pick<AttachNetworkInterfaceRequest, 'NetworkInterfaceId' | 'InstanceId' | 'DeviceIndex'>): Promise<Pick<AttachNetworkInterfaceResult, 'AttachmentId'>>;
  detachNetworkInterface(input: Pick<DetachNetworkInterfaceRequest, 'AttachmentId' | 'Force'>): Promise<unknown>;
  deleteNetworkInterface(input: Pick<DeleteNetworkInterfaceRequest, 'NetworkInterfaceId'>): Promise<unknown>;
}

/** The SDK client as an Ec2Api: one command per method, sent as it is. */
export function ec2ApiOf(client: EC2Client): Ec2Api {
  return {
    describeSubnets: (input) => client.send(new DescribeSubnetsCommand(input)),
    describeSecurityGroups: (input) => client.send(new DescribeSecurityGroupsCommand(input)),
    describeInstances: (input) => client.send(new DescribeInstancesCommand(input)),
    describeInstanceTypes: (input) => client.send(new DescribeInstanceTypesCommand(input)),
    describeNetworkInterfaces: (input) => client.send(new DescribeNetworkInterfacesCommand(input)),
    createNetworkInterface: (input) => client.send(new CreateNetworkInterfaceCommand(input)),
    createTags: (input) => client.send(new CreateTagsCommand(input)),
    assignPrivateIpAddresses: (input) => client.send(new AssignPrivateIpAddressesCommand(input)),
    unassignPrivateIpAddresses: (input) => client.send(new UnassignPrivateIpAddressesCommand(input)),
    modifyNetworkInterfaceAttribute: (input) => client.send(new ModifyNetworkInterfaceAttributeCommand(input)),
    attachNetworkInterface: (input) => client.send(new AttachNetworkInterfaceCommand(input)),
    detachNetworkInterface: (input) => client.send(new DetachNetworkInterfaceCommand(input)),
    deleteNetworkInterface: (input) => client.send(new DeleteNetworkInterfaceCommand(input)),
  };
}
