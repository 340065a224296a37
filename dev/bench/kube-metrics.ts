// The kube-apiserver's own counters for NodeENI requests (/metrics), so a slow phase can be traced to what
// the apiserver spent its CPU on: status writes, their outcome and latency, and the etcd writes behind them.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { StackState } from '../stack/stack.js';

const run = promisify(execFile);

export interface NodeENIRequests {
  /** Writes on nodeenis/status (APPLY: the watcher's conditions; PATCH: the controller's attachments), by "VERB code". */
  statusApplies: Record<string, number>;
  /** Seconds the apiserver spent answering them (sum of request durations). */
  statusApplySeconds: number;
  /** Writes to etcd for nodeenis, including optimistic-concurrency attempts that lost and were redone. */
  etcdUpdates: number;
  /** Watch events sent for nodeenis, and their bytes. */
  watchEvents: number;
  watchMiB: number;
}

function series(text: string, name: string, match: Record<string, string>): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labels = Object.fromEntries([...line.slice(name.length + 1, line.lastIndexOf('}')).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    if (Object.entries(match).every(([k, v]) => labels[k] === v)) out.push({ labels, value: Number(line.slice(line.lastIndexOf(' ') + 1)) });
  }
  return out;
}

export async function nodeENIRequests(s: StackState): Promise<NodeENIRequests> {
  const { stdout } = await run(path.join(s.bin, 'kubectl'), ['get', '--raw', '/metrics'], { env: { ...process.env, KUBECONFIG: s.kube.kubeconfig }, maxBuffer: 256 * 2 ** 20 });
  const status = { resource: 'nodeenis', subresource: 'status' };
  const isWrite = (l: Record<string, string>) => l.verb === 'APPLY' || l.verb === 'PATCH';
  const statusApplies: Record<string, number> = {};
  for (const x of series(stdout, 'apiserver_request_total', status)) {
    if (!isWrite(x.labels)) continue;
    const key = `${x.labels.verb} ${x.labels.code}`;
    statusApplies[key] = (statusApplies[key] ?? 0) + x.value;
  }
  const sum = (name: string, m: Record<string, string>, keep: (l: Record<string, string>) => boolean = () => true) =>
    series(stdout, name, m).reduce((a, x) => a + (keep(x.labels) ? x.value : 0), 0);
  return {
    statusApplies,
    statusApplySeconds: sum('apiserver_request_duration_seconds_sum', status, isWrite),
    etcdUpdates: sum('etcd_request_duration_seconds_count', { resource: 'nodeenis', operation: 'update' }),
    watchEvents: sum('apiserver_watch_events_total', { resource: 'nodeenis' }),
    watchMiB: sum('apiserver_watch_events_sizes_sum', { resource: 'nodeenis' }) / 2 ** 20,
  };
}

export function diff(after: NodeENIRequests, before: NodeENIRequests): NodeENIRequests {
  const codes = new Set([...Object.keys(after.statusApplies), ...Object.keys(before.statusApplies)]);
  return {
    statusApplies: Object.fromEntries([...codes].map((c) => [c, (after.statusApplies[c] ?? 0) - (before.statusApplies[c] ?? 0)]).filter(([, n]) => n !== 0)),
    statusApplySeconds: after.statusApplySeconds - before.statusApplySeconds,
    etcdUpdates: after.etcdUpdates - before.etcdUpdates,
    watchEvents: after.watchEvents - before.watchEvents,
    watchMiB: after.watchMiB - before.watchMiB,
  };
}
