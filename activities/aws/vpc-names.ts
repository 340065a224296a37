// What subnet and security-group names have in common: they resolve in the node's VPC, by the Name tag, and a
// name more than one resource carries there is refused rather than guessed.
import type { Filter, Tag } from '@aws-sdk/client-ec2';
import { ApplicationFailure } from '@temporalio/activity';
import { ERROR_TYPES } from '../../common/error-types.js';

/** The filter that keeps a describe to the node's VPC; none without one (an old request: the first match wins). */
export const inVpc = (vpcId: string | undefined): Filter[] => (vpcId ? [{ Name: 'vpc-id', Values: [vpcId] }] : []);

/** Whether the resource's Name tag is `name`. */
export const hasNameTag = (r: { Tags?: Tag[] }, name: string): boolean => !!r.Tags?.some((t) => t.Key === 'Name' && t.Value === name);

/** The error of a name that more than one resource carries in the VPC: guessing would pick a network at random. */
export function ambiguousName(kind: string, name: string, vpcId: string, ids: string[], field: string, byId: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `${kind} '${name}' is ambiguous in ${vpcId}: ${ids.length} match (${ids.join(', ')}) (${field}); name it by ID (${byId})`,
    ERROR_TYPES.ambiguousName,
  );
}

/** " in vpc-… (the node's VPC)" for the messages of a name not found, or nothing without a VPC. */
export const inTheNodesVpc = (vpcId: string | undefined): string => (vpcId ? ` in ${vpcId} (the node's VPC)` : '');

/** The cache key of a lookup: the same references in the same VPC give the same answer. */
export const lookupKey = (ids: readonly string[], names: readonly string[], vpcId: string | undefined): string => JSON.stringify([ids, names, vpcId]);
