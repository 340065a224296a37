// DeleteNetworkInterface: refused while the ENI is in use or detaching; its delegated prefixes are freed.
import type http from 'node:http';
import { inUse, type Answer } from '../answers.js';
import type { Forward, ProxyContext } from '../context.js';
import { describeEnis } from '../lookups.js';

export async function deleteNetworkInterface(ctx: ProxyContext, params: Map<string, string>, headers: http.IncomingHttpHeaders, fwd: Forward): Promise<Answer> {
  const state = ctx.state;
  const eni = params.get('NetworkInterfaceId') ?? '';
  if (state.detaching.has(eni)) return inUse(eni);
  if (state.semantics.refuseDeleteInUse) {
    const self = await describeEnis(ctx, headers, 'network-interface-id', eni);
    if (self?.[0]?.status === 'in-use') return inUse(eni);
  }
  const a = await fwd();
  if (a.status === 200) {
    state.eniPrefixes.delete(eni); // its prefixes go back to the subnet
    state.eniSubnet.delete(eni);
  }
  return a;
}
