// One EC2 query call through the proxy: its token bucket, the faults a test turned on, then the rules of its
// action (./rules/), and the record of it for `/_proxy/calls`.
import type http from 'node:http';
import { bucketFor } from '../ec2-buckets.js';
import { errorAnswer, type Answer } from './answers.js';
import { takeToken } from './buckets.js';
import { outcomeOf, type CallRecord } from './calls.js';
import type { Forward, ProxyContext } from './context.js';
import { injectFault } from './faults.js';
import { keyParams, parseForm } from './query.js';
import { assignPrivateIpAddresses } from './rules/assign.js';
import { attachNetworkInterface } from './rules/attach.js';
import { createNetworkInterface } from './rules/create.js';
import { deleteNetworkInterface } from './rules/delete.js';
import { describeNetworkInterfaces } from './rules/describe.js';
import { detachNetworkInterface } from './rules/detach.js';
import { modifyNetworkInterfaceAttribute } from './rules/modify.js';
import { unassignPrivateIpAddresses } from './rules/unassign.js';

/** A rule's answer, with what the record of the call needs to know of it. */
type RuledAnswer = Answer & { replayed?: boolean; deferred?: boolean; windowMs?: number };

/** The rules of `action`, each behind its semantics switch; moto's own answer for an action without rules. */
function applyRules(ctx: ProxyContext, action: string, params: Map<string, string>, headers: http.IncomingHttpHeaders, fwd: Forward): Promise<RuledAnswer> {
  const semantics = ctx.state.semantics;
  if (action === 'CreateNetworkInterface') return createNetworkInterface(ctx, params, headers, fwd);
  if (action === 'AttachNetworkInterface') return attachNetworkInterface(ctx, params, headers, fwd);
  if (action === 'DetachNetworkInterface') return detachNetworkInterface(ctx, params, headers, fwd);
  if (action === 'DeleteNetworkInterface') return deleteNetworkInterface(ctx, params, headers, fwd);
  if (action === 'DescribeNetworkInterfaces') return describeNetworkInterfaces(ctx.state, fwd);
  if (action === 'AssignPrivateIpAddresses' && (semantics.ipv4Prefixes || semantics.addressLimit)) return assignPrivateIpAddresses(ctx, params, headers, fwd);
  if (action === 'UnassignPrivateIpAddresses' && semantics.ipv4Prefixes) return unassignPrivateIpAddresses(ctx, params, headers, fwd);
  if (action === 'ModifyNetworkInterfaceAttribute' && semantics.securityGroupVpc) return modifyNetworkInterfaceAttribute(ctx, params, headers, fwd);
  return fwd();
}

export async function handleEc2(ctx: ProxyContext, req: http.IncomingMessage, body: Buffer): Promise<{ answer: Answer; rec?: Omit<CallRecord, 'at' | 'ms'> }> {
  const state = ctx.state;
  const url = new URL(req.url ?? '/', 'http://proxy');
  const params = parseForm(req.method === 'POST' ? body.toString() : url.search.slice(1));
  const action = params.get('Action');
  let forwarded = false;
  const fwd: Forward = (rewritten) => {
    forwarded = true;
    const sent = rewritten
      ? ctx.upstream.forward('POST', '/', { ...req.headers, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, Buffer.from(new URLSearchParams([...rewritten]).toString()))
      : ctx.upstream.forward(req.method ?? 'GET', req.url ?? '/', req.headers, body);
    // moto unreachable: a 5xx, which the SDK retries like any transient server error, and which is counted.
    return sent.catch((e: unknown) => {
      ctx.log(`ec2-proxy: ${req.method} ${req.url} (${action}): ${String(e)}`);
      return errorAnswer(502, 'InternalError', `ec2-proxy: the target did not answer: ${String(e)}`);
    });
  };
  if (!action) return { answer: await fwd() }; // not an EC2 query call (e.g. /moto-api): passed through, not counted

  // The bucket first: a request EC2 throttles does nothing, whatever else it asked.
  const bucket = bucketFor(action, params, state.buckets.overrides);
  const admitted = !state.buckets.enabled || takeToken(state, bucket.key, bucket.spec);
  const answer: RuledAnswer = (await injectFault(state, action, admitted)) ?? (await applyRules(ctx, action, params, req.headers, fwd));
  // A deferred detach is forwarded later by a timer; this call itself was answered by the proxy.
  const { replayed, deferred, windowMs, ...plain } = answer;
  const rec = {
    action,
    params: keyParams(params),
    status: plain.status,
    outcome: outcomeOf(plain.status, plain.body.toString()),
    forwarded: forwarded && !deferred,
    bucket: bucket.key,
    ...(replayed ? { replayed } : {}),
    ...(windowMs !== undefined && plain.status === 200 ? { windowMs } : {}),
  };
  return { answer: plain, rec };
}
