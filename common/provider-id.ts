// A Node's link to its EC2 instance: the cloud provider's `spec.providerID`. Read by the watcher (which instance
// a pair is for) and by the EC2 activities (is this instance really that node's, before anything is attached).

/** `aws:///us-east-1a/i-0abc` → `i-0abc`; anything else (other clouds, kind, empty) → undefined. */
export function instanceIdFromProviderID(providerID: string | undefined | null): string | undefined {
  if (!providerID) return undefined;
  const m = /^aws:\/\/\/[^/]*\/(i-[0-9a-z]+)$/.exec(providerID);
  return m ? m[1] : undefined;
}
