// DescribeNetworkInterfaces: moto's answer with what the proxy knows better, the `attaching` and `detaching`
// windows and the IPv4 prefixes it delegated.
import { withIpv4Prefixes } from '../../ec2-addresses.js';
import type { Answer } from '../answers.js';
import type { Forward } from '../context.js';
import type { ProxyState } from '../state.js';
import { mapNetworkInterfaceItems, rewriteAttachmentStatus, summarizeEniItem } from '../xml.js';

export async function describeNetworkInterfaces(state: ProxyState, fwd: Forward): Promise<Answer> {
  const a = await fwd();
  const now = Date.now();
  const status = new Map<string, string>();
  for (const [eni, until] of state.attachingUntil) {
    if (until <= now) state.attachingUntil.delete(eni);
    else status.set(eni, 'attaching');
  }
  for (const eni of state.detaching.keys()) status.set(eni, 'detaching');
  if (a.status !== 200 || (status.size === 0 && state.eniPrefixes.size === 0)) return a;
  let xml = rewriteAttachmentStatus(a.body.toString(), status);
  if (state.eniPrefixes.size > 0) {
    xml = mapNetworkInterfaceItems(xml, (item) => {
      const prefixes = state.eniPrefixes.get(summarizeEniItem(item)?.id ?? '');
      return prefixes?.length ? withIpv4Prefixes(item, prefixes) : item;
    });
  }
  return { ...a, body: Buffer.from(xml) };
}
