// AttachNetworkInterface: the rules moto does not enforce (device-index conflicts, the instance's AZ, its type's
// interface and address limits), serialised per instance, and the `attaching` window after it.
import type http from 'node:http';
import { ipv4Count } from '../../ec2-addresses.js';
import { errorAnswer, type Answer } from '../answers.js';
import { drawWindow } from '../config.js';
import type { Forward, ProxyContext } from '../context.js';
import { describeEnis, instanceOf, instanceTypeOf, interfaceLimitOf } from '../lookups.js';
import { serialized } from '../state.js';
import { tagValue } from '../xml.js';
import { limitExceeded } from './addresses.js';

/** EC2's refusal of this attach, if any: the rules moto does not enforce, each behind its semantics switch. */
export async function attachRefusal(ctx: ProxyContext, eni: string, instance: string, index: number, headers: http.IncomingHttpHeaders): Promise<Answer | undefined> {
  const s = ctx.state.semantics;
  if (!s.deviceIndexConflicts && !s.availabilityZone && !s.interfaceLimit && !s.addressLimit) return undefined;
  const [onInstance, selfList, info] = await Promise.all([
    describeEnis(ctx, headers, 'attachment.instance-id', instance),
    describeEnis(ctx, headers, 'network-interface-id', eni),
    s.availabilityZone || s.interfaceLimit || s.addressLimit ? instanceOf(ctx, headers, instance) : undefined,
  ]);
  const self = selfList?.[0];
  if (s.deviceIndexConflicts && self?.attachment) return errorAnswer(400, 'InvalidNetworkInterface.InUse', `Interface: [${eni}] in use.`);
  // AttachNetworkInterface (EC2 API Reference): "You can attach a network interface to an instance in the same
  // Availability Zone" only; EC2 refuses another AZ's with InvalidParameterCombination.
  if (s.availabilityZone && self?.availabilityZone && info?.az && self.availabilityZone !== info.az) {
    return errorAnswer(400, 'InvalidParameterCombination', `You may not attach a network interface to an instance if they are not in the same availability zone`);
  }
  // The instance type's MaximumNetworkInterfaces (DescribeInstanceTypes, the data moto ships) counts every
  // attached interface, the primary included; device indexes run from 0 to that number less one (EC2 User
  // Guide, "Maximum IP addresses per network interface"; error code AttachmentLimitExceeded).
  if (s.interfaceLimit && info?.type) {
    const limit = await interfaceLimitOf(ctx, headers, info.type);
    const attached = onInstance?.length ?? 0;
    if (limit !== undefined && attached >= limit) return errorAnswer(400, 'AttachmentLimitExceeded', `Interface count ${attached + 1} exceeds the limit for ${info.type}`);
    if (limit !== undefined && index >= limit) return errorAnswer(400, 'AttachmentLimitExceeded', `Device index ${index} exceeds the limit for ${info.type} (${limit} network interfaces)`);
  }
  // An ENI holding more IPv4 addresses (primary, secondaries, each /28 prefix as one) than the instance type's
  // Ipv4AddressesPerInterface cannot be attached to it (EC2 User Guide, "IP addresses per network interface per
  // instance type"; the address count of an unattached ENI is checked here, when it gets an instance type).
  if (s.addressLimit && info?.type && self) {
    const limit = (await instanceTypeOf(ctx, headers, info.type))?.ipv4PerInterface;
    const held = ipv4Count(self.privateIps?.length ?? 0, ctx.state.eniPrefixes.get(eni)?.length ?? 0);
    if (limit !== undefined && held > limit) return limitExceeded(eni);
  }
  if (s.deviceIndexConflicts && onInstance?.some((e) => e.attachment?.deviceIndex === index)) {
    return errorAnswer(400, 'InvalidParameterValue', `Instance '${instance}' already has an interface attached at device index '${index}'.`);
  }
  return undefined;
}

export async function attachNetworkInterface(ctx: ProxyContext, params: Map<string, string>, headers: http.IncomingHttpHeaders, fwd: Forward): Promise<Answer & { windowMs?: number }> {
  const state = ctx.state;
  const eni = params.get('NetworkInterfaceId') ?? '';
  const instance = params.get('InstanceId') ?? '';
  const index = Number(params.get('DeviceIndex'));
  // Serialised per instance, so two concurrent attaches to one instance cannot both pass the conflict check
  // before either reaches moto; attaches to different instances run in parallel, as in EC2.
  const run = async (): Promise<Answer & { windowMs?: number }> => {
    const refused = await attachRefusal(ctx, eni, instance, index, headers);
    if (refused) return refused;
    const a = await fwd();
    if (a.status !== 200) return a;
    const attachmentId = tagValue(a.body.toString(), 'attachmentId');
    if (attachmentId) state.attachmentEni.set(attachmentId, eni);
    const windowMs = drawWindow(state.semantics.attachingMs, state.windowRand);
    if (windowMs > 0) state.attachingUntil.set(eni, Date.now() + windowMs);
    return { ...a, windowMs };
  };
  return serialized(state.attachQueues, instance, run);
}
