// The tags every ENI of this controller carries. Pure, so the workflow and tests share it.
import { TAG_CLUSTER, TAG_CREATED_AT, TAG_NAME, TAG_NO_MANAGE, TAG_NODE, TAG_NODEENI, TAG_SUBNET } from '../../common/names.js';

export interface EniIdentity {
  nodeENI: string;
  nodeName: string;
  subnetId: string;
  clusterName: string;
}

/** Tags that identify the ENI (the Go controller's keys, so its ENIs are adopted) plus the sweeper's. */
export function identityTags(id: EniIdentity): Record<string, string> {
  return {
    [TAG_NAME]: `nodeeni-${id.nodeENI}-${id.nodeName}-${id.subnetId.replace(/^subnet-/, '')}`.slice(0, 255),
    [TAG_NODEENI]: id.nodeENI,
    [TAG_NODE]: id.nodeName,
    [TAG_SUBNET]: id.subnetId,
    [TAG_NO_MANAGE]: 'true',
    [TAG_CLUSTER]: id.clusterName,
  };
}

/** Full tag set at creation time: identity plus the created-at stamp the sweeper's cool-down reads. */
export function creationTags(id: EniIdentity, createdAt: string): Record<string, string> {
  return { ...identityTags(id), [TAG_CREATED_AT]: createdAt };
}

/** Tags to write so that `current` holds `desired`: only the missing or different ones. */
export function tagsToWrite(current: Record<string, string>, desired: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(desired)) if (current[k] !== v) out[k] = v;
  return out;
}

/** Tags an adopted ENI needs: identity, and a created-at stamp only if it has none (never reset its age). */
export function adoptionTags(current: Record<string, string>, id: EniIdentity, now: string): Record<string, string> {
  const desired = identityTags(id);
  if (!current[TAG_CREATED_AT]) desired[TAG_CREATED_AT] = now;
  return tagsToWrite(current, desired);
}
