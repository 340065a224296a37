// The EC2 fault proxy's control API, for tests.
import { proxyControlCall } from '../../dev/stack/ec2-proxy-control.js';
import { stack } from './env.js';

function call(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<unknown> {
  return proxyControlCall(stack().ec2.proxyControl, method, path, body);
}

export interface ProxyCalls {
  total: number;
  byAction: Record<string, { total: number; forwarded: number; outcomes: Record<string, number> }>;
  recent: { action: string; params: Record<string, string>; status: number; outcome: string; forwarded: boolean }[];
}

export const proxy = {
  reset: () => call('POST', '/reset'),
  resetCalls: () => call('POST', '/calls/reset'),
  calls: () => call('GET', '/calls') as Promise<ProxyCalls>,
  faults: (f: Record<string, unknown>) => call('PUT', '/faults', f),
  semantics: (s: Record<string, unknown>) => call('PUT', '/semantics', s),
};

/** Calls by action that reached EC2 (forwarded), for counting what a lifecycle costs. */
export function countsByAction(c: ProxyCalls): Record<string, number> {
  return Object.fromEntries(Object.entries(c.byAction).map(([a, v]) => [a, v.total]));
}

export interface HeldCall {
  action: string;
  params: Record<string, string>;
  body: string;
}

/** Carry out the next `count` calls of `action` at EC2 but withhold their answers (crash tests). */
export const hold = {
  set: (action: string, count = 1) => call('PUT', '/hold', { action, count }),
  held: () => call('GET', '/held') as Promise<HeldCall[]>,
  release: () => call('POST', '/held/release'),
};
