// ModifyNetworkInterfaceAttribute: a security-group change is held to the rule of CreateNetworkInterface.
import type http from 'node:http';
import type { Answer } from '../answers.js';
import type { Forward, ProxyContext } from '../context.js';
import { securityGroupRefusal } from './security-groups.js';

/** Only while `semantics.securityGroupVpc` is on (the dispatch checks it); moto's answer otherwise. */
export async function modifyNetworkInterfaceAttribute(ctx: ProxyContext, params: Map<string, string>, headers: http.IncomingHttpHeaders, fwd: Forward): Promise<Answer> {
  return (await securityGroupRefusal(ctx, params, headers)) ?? (await fwd());
}
