// The EC2 query's form parameters (`Action=...&NetworkInterfaceId=...`).

export function parseForm(body: string): Map<string, string> {
  return new Map(new URLSearchParams(body));
}

/** The params worth showing in `/_proxy/calls`; EC2 query keys are flat (`Filter.1.Name`), these are top-level. */
const KEY_PARAMS = ['NetworkInterfaceId', 'InstanceId', 'DeviceIndex', 'AttachmentId', 'ClientToken', 'SubnetId', 'ResourceId'];
export function keyParams(params: Map<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of KEY_PARAMS) {
    const v = params.get(k) ?? params.get(`${k}.1`);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** `params` without the keys `drop` matches. */
export const withoutKeys = (params: ReadonlyMap<string, string>, drop: RegExp) => new Map([...params].filter(([k]) => !drop.test(k)));
